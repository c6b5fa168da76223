import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { type BatchedDeleteOptions, deleteInBatches, RetentionPass } from '@app/database';

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
  private readonly pass = new RetentionPass(new Logger(OutboxPurger.name), 'delivered webhook events');

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Interval('webhook-outbox-purge', PURGE_INTERVAL_MS)
  async tick(): Promise<void> {
    if (this.config.escalation.schedulerEnabled) await this.pass.run(() => this.purge());
  }

  /** One pass; resolves to the rows each statement deleted (it stops at the first short batch). */
  purge(options: BatchedDeleteOptions = { batchSize: 1_000, maxBatches: 100 }): Promise<number[]> {
    return deleteInBatches((limit) => this.outbox.purgeDelivered(this.config.webhook.deliveredRetentionHours, limit), options);
  }
}
