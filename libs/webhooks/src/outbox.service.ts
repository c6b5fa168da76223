import { Inject, Injectable } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';
import type { Tx } from '@app/database';

import { JobQueueSchema } from './job-queue-schema.js';
import { OutboxRepository } from './outbox.repository.js';
import type { ReviewEvent } from './webhook-event.js';

/** Records review events for delivery, in the caller's transaction; nothing is kept when no receiver is configured. */
@Injectable()
export class OutboxService {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly queueSchema: JobQueueSchema,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async publish(tx: Tx, ...events: ReviewEvent[]): Promise<void> {
    if (!this.config.webhook.url) return;
    await this.queueSchema.requireInstalled();
    await this.outbox.append(tx, events);
  }
}
