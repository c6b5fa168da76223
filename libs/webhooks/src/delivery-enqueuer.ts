import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { DeliveryRepository } from './delivery.repository.js';
import { JobQueueSchema } from './job-queue-schema.js';

/**
 * The safety net for what no commit of this process announced: events of another replica that
 * stopped between its commit and its own pass, or written outside TransactionRunner.
 */
const POLL_INTERVAL_MS = 250;
const BATCH_SIZE = 500;

/**
 * Adds the delivery jobs of new outbox events, in batches, outside the transactions that wrote them
 * (docs/architecture.md, "Webhooks"). Woken in process right after a commit that wrote events
 * (OutboxService), and every 250 ms on every replica where WEBHOOK_URL is set, whether or not it
 * delivers. Wake-ups that arrive during a pass are served by one more pass, so under load each pass
 * takes every event committed meanwhile: one transaction and one NOTIFY for many writes.
 */
@Injectable()
export class DeliveryEnqueuer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryEnqueuer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopping = false;
  private failing = false;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly queueSchema: JobQueueSchema,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.webhook.url) return;
    this.timer = setInterval(() => this.wake(), POLL_INTERVAL_MS).unref();
    this.wake();
  }

  /** Lets the pass in flight finish: what it leaves is queued by the next replica's (or start's) pass. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Queues what has committed by now: at once, or right after the pass in flight. Never throws. */
  wake(): void {
    if (this.stopping || !this.config.webhook.url) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Queues every event not queued yet, batch after batch; returns how many. */
  async enqueuePending(): Promise<number> {
    await this.queueSchema.ensureInstalled();
    let total = 0;
    for (;;) {
      const queued = await this.deliveries.enqueueNew(BATCH_SIZE);
      total += queued;
      if (queued < BATCH_SIZE || this.stopping) return total;
    }
  }

  private async drain(): Promise<void> {
    try {
      await this.enqueuePending();
      if (this.failing) this.logger.log('Webhook jobs are queued again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(`Queueing webhook jobs failed, retrying: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
