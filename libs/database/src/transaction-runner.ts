import { Inject, Injectable, Logger } from '@nestjs/common';

import { DATABASE_OPTIONS, type DatabaseOptions } from './database.options.js';
import { isRetryableConflict } from './database-error.js';
import type { Prisma } from './generated/prisma/client.js';
import { PrismaService } from './prisma.service.js';

export type Tx = Prisma.TransactionClient;

export class TransactionConflictError extends Error {
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
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

  private readonly inTransaction: <T>(work: (tx: Tx) => Promise<T>) => (tx: Tx) => Promise<T>;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(DATABASE_OPTIONS) database: DatabaseOptions,
  ) {
    const lockTimeout = String(database.lockTimeoutMs);
    // Through a transaction-mode pooler the connection's own lock_timeout cannot be set at connect time.
    this.inTransaction = database.throughPooler
      ? (work) => async (tx) => {
          await tx.$executeRaw`SELECT set_config('lock_timeout', ${lockTimeout}, true)`;
          return work(tx);
        }
      : (work) => work;
  }

  async run<T>(work: (tx: Tx) => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const inTransaction = this.inTransaction(work);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.prisma.$transaction(inTransaction, { timeout: options.timeoutMs ?? 15_000, maxWait: 10_000 });
      } catch (error) {
        if (!isRetryableConflict(error)) throw error;
        if (attempt >= MAX_ATTEMPTS) throw new TransactionConflictError(attempt, error);
        this.logger.warn(`Transaction conflict (attempt ${attempt}), retrying`);
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
      }
    }
  }
}
