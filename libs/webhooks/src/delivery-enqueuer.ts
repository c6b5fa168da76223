import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { DeliveryRepository } from './delivery.repository.js';
import { EventSequencer } from './event-sequencer.js';
import { JobQueueSchema } from './job-queue-schema.js';

const BATCH_SIZE = 500;

/**
 * Queues the delivery of new outbox events, in batches, outside the transactions that wrote them
 * (docs/architecture.md, "Webhooks"): one pass right after each pass of this replica's event
 * sequencer (every 250 ms, on every replica where WEBHOOK_URL is set, whether or not it delivers),
 * so that events are queued as soon as they have their position. A pass takes every event
 * positioned since the last pass, whichever replica wrote or positioned it, and adds one batch job
 * per queue concerned, due at once: one transaction and one NOTIFY for all the writes of a window.
 */
@Injectable()
export class DeliveryEnqueuer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryEnqueuer.name);
  private running?: Promise<void>;
  private stopping = false;
  private failing = false;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly queueSchema: JobQueueSchema,
    private readonly sequencer: EventSequencer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.webhook.url) this.sequencer.afterEachPass(() => this.passUnlessRunning());
  }

  /** Lets the pass in flight finish: what it leaves is queued by the next replica's (or start's) pass. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private passUnlessRunning(): void {
    if (this.running || this.stopping) return;
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
  }

  /** Queues every event past the cursor, batch after batch. Never throws. */
  private async pass(): Promise<void> {
    try {
      await this.queueSchema.ensureInstalled();
      while ((await this.deliveries.enqueueNew(BATCH_SIZE)) === BATCH_SIZE && !this.stopping);
      if (this.failing) this.logger.log('Webhook jobs are queued again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(`Queueing webhook jobs failed, retrying: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
