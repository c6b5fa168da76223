import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';

import { APP_CONFIG, type AppConfig } from '@app/config';

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
  private readonly logger = new Logger(IdempotencyPurger.name);
  private running = false;

  constructor(
    private readonly records: IdempotencyRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Interval('idempotency-purge', PURGE_INTERVAL_MS)
  async tick(): Promise<void> {
    if (!this.config.escalation.schedulerEnabled || this.running) return;
    this.running = true;
    try {
      const deleted = await this.purge();
      if (deleted.length > 0) this.logger.log({ deleted: deleted.reduce((sum, n) => sum + n, 0) }, 'Purged expired idempotency records');
    } catch (error) {
      this.logger.warn({ err: error }, 'Idempotency purge failed');
    } finally {
      this.running = false;
    }
  }

  /** One pass; resolves to the rows each statement deleted (it stops at the first short batch). */
  async purge(options: { batchSize: number; maxBatches: number } = { batchSize: 1_000, maxBatches: 5 }): Promise<number[]> {
    const deleted: number[] = [];
    while (deleted.length < options.maxBatches) {
      const count = await this.records.purgeExpired(IDEMPOTENCY_TTL_SECONDS, options.batchSize);
      if (count > 0) deleted.push(count);
      if (count < options.batchSize) break;
    }
    return deleted;
  }
}
