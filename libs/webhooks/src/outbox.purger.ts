import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { OutboxRepository } from './outbox.repository.js';

const PURGE_INTERVAL_MS = 60_000;

/**
 * Deletes webhook events delivered more than WEBHOOK_RETENTION_HOURS ago, every minute on every
 * replica where the scheduler runs: at most `maxBatches` statements of `batchSize` rows a pass (up to
 * 100 000 rows a minute per replica), so that no statement holds many locks or much WAL at once.
 * Undelivered events stay until they are delivered.
 */
@Injectable()
export class OutboxPurger {
  private readonly logger = new Logger(OutboxPurger.name);
  private running = false;

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Interval('webhook-outbox-purge', PURGE_INTERVAL_MS)
  async tick(): Promise<void> {
    if (!this.config.escalation.schedulerEnabled || this.running) return;
    this.running = true;
    try {
      const deleted = await this.purge();
      if (deleted.length > 0) this.logger.log({ deleted: deleted.reduce((sum, n) => sum + n, 0) }, 'Purged delivered webhook events');
    } catch (error) {
      this.logger.warn({ err: error }, 'Webhook outbox purge failed');
    } finally {
      this.running = false;
    }
  }

  /** One pass; resolves to the rows each statement deleted (it stops at the first short batch). */
  async purge(options: { batchSize: number; maxBatches: number } = { batchSize: 1_000, maxBatches: 100 }): Promise<number[]> {
    const deleted: number[] = [];
    while (deleted.length < options.maxBatches) {
      const count = await this.outbox.purgeDelivered(this.config.webhook.deliveredRetentionHours, options.batchSize);
      if (count > 0) deleted.push(count);
      if (count < options.batchSize) break;
    }
    return deleted;
  }
}
