import { Inject, Injectable } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';
import type { Tx } from '@app/database';

import { EventLogRepository } from './event-log.repository.js';
import { JobQueueSchema } from './job-queue-schema.js';
import { OutboxRepository } from './outbox.repository.js';
import type { ReviewEvent } from './webhook-event.js';

/**
 * Records review events in the caller's transaction: always in the event log (GET /api/v1/events),
 * and in the webhook outbox, under the same ids, when a receiver is configured.
 */
@Injectable()
export class OutboxService {
  constructor(
    private readonly log: EventLogRepository,
    private readonly outbox: OutboxRepository,
    private readonly queueSchema: JobQueueSchema,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async publish(tx: Tx, ...events: ReviewEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.config.webhook.url) await this.queueSchema.requireInstalled();
    const logged = await this.log.append(tx, events);
    if (!this.config.webhook.url) return;
    await this.outbox.append(tx, logged);
  }
}
