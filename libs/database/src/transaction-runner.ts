import { Injectable, Logger } from '@nestjs/common';

import { isRetryableConflict } from './database-error.js';
import type { Prisma } from './generated/prisma/client.js';
import { PrismaService } from './prisma.service.js';

export type Tx = Prisma.TransactionClient;

export class TransactionConflictError extends Error {
  constructor(readonly attempts: number, override readonly cause: unknown) {
    super(`Transaction conflict persisted after ${attempts} attempts`);
  }
}

const MAX_ATTEMPTS = 4;

/**
 * Runs a use case in one interactive transaction. Deadlocks and serialization failures are retried
 * a bounded number of times with a short random back-off, then surface as a 503. Every use case that
 * changes more than one row goes through here, so "all or nothing" holds by construction.
 */
@Injectable()
export class TransactionRunner {
  private readonly logger = new Logger(TransactionRunner.name);

  constructor(private readonly prisma: PrismaService) {}

  async run<T>(work: (tx: Tx) => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.prisma.$transaction(work, { timeout: options.timeoutMs ?? 15_000, maxWait: 10_000 });
      } catch (error) {
        if (!isRetryableConflict(error)) throw error;
        if (attempt >= MAX_ATTEMPTS) throw new TransactionConflictError(attempt, error);
        this.logger.warn(`Transaction conflict (attempt ${attempt}), retrying`);
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
      }
    }
  }
}
