import { Inject, Injectable } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { runSteps, type StatementStep, type Tx } from '@app/database';

import { EventLogRepository } from './event-log.repository.js';
import { OutboxRepository } from './outbox.repository.js';
import type { ReviewEvent } from './webhook-event.js';

/**
 * Records review events in the caller's transaction: always in the event log (GET /api/v1/events),
 * and in the webhook outbox, under the same ids and in the same statement, when a receiver is
 * configured. Delivery jobs are added after the commit, in batches (DeliveryEnqueuer).
 */
@Injectable()
export class OutboxService {
  constructor(
    private readonly log: EventLogRepository,
    private readonly outbox: OutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async publish(tx: Tx, ...events: ReviewEvent[]): Promise<void> {
    const steps = this.publishSteps(...events);
    if (steps.length > 0) await runSteps(tx, steps);
  }

  /** The same as steps of the caller's combined statement (runSteps), saving a round trip. */
  publishSteps(...events: ReviewEvent[]): StatementStep[] {
    if (events.length === 0) return [];
    if (!this.config.webhook.url) return this.log.appendSteps(events);
    return this.log.appendSteps(events, (logged) => this.outbox.copyOf(logged));
  }
}
