import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { DeliveryRepository } from './delivery.repository.js';
import { DELIVERY_BATCH_WINDOW_MS } from './delivery-queue.js';
import { JobQueueSchema } from './job-queue-schema.js';

const BATCH_SIZE = 500;

/**
 * Queues the delivery of new outbox events, in batches, outside the transactions that wrote them
 * (docs/architecture.md, "Webhooks"): one pass at every boundary of the batch window (every 250 ms,
 * at the same instants on every replica where WEBHOOK_URL is set, whether or not it delivers). A
 * pass takes every event committed since the last one, whichever replica wrote it, and adds one
 * batch job per queue concerned, due at once: one transaction and one NOTIFY for all the writes of a
 * window. A pass that outlasts its window is followed by the next boundary's.
 */
@Injectable()
export class DeliveryEnqueuer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryEnqueuer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopping = false;
  private failing = false;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly queueSchema: JobQueueSchema,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.webhook.url) this.scheduleNextPass();
  }

  /** Lets the pass in flight finish: what it leaves is queued by the next replica's (or start's) pass. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private scheduleNextPass(): void {
    if (this.stopping) return;
    const untilBoundary = DELIVERY_BATCH_WINDOW_MS - (Date.now() % DELIVERY_BATCH_WINDOW_MS);
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.scheduleNextPass();
      });
    }, untilBoundary).unref();
  }

  /** Queues every event not queued yet, batch after batch. Never throws. */
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
