import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { type BatchedDeleteOptions, deleteInBatches, RetentionPass } from '@app/database';

import { IDEMPOTENCY_TTL_SECONDS } from './idempotency.interceptor.js';
import { IdempotencyRepository } from './idempotency.repository.js';

const PURGE_INTERVAL_MS = 60_000;

/**
 * Deletes idempotency records older than 24 h, every minute on every replica where the scheduler
 * runs: at most `maxBatches` statements of `batchSize` rows a pass (5 000 rows a minute per replica),
 * so no statement holds many locks or much WAL at once; replicas purging together skip each other's rows.
 */
@Injectable()
export class IdempotencyPurger {
  private readonly pass = new RetentionPass(new Logger(IdempotencyPurger.name), 'expired idempotency records');

  constructor(
    private readonly records: IdempotencyRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Interval('idempotency-purge', PURGE_INTERVAL_MS)
  async tick(): Promise<void> {
    if (this.config.escalation.schedulerEnabled) await this.pass.run(() => this.purge());
  }

  /** One pass; resolves to the rows each statement deleted (it stops at the first short batch). */
  purge(options: BatchedDeleteOptions = { batchSize: 1_000, maxBatches: 5 }): Promise<number[]> {
    return deleteInBatches((limit) => this.records.purgeExpired(IDEMPOTENCY_TTL_SECONDS, limit), options);
  }
}
