import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** Webhook delivery attempts made by this process; the outbox backlog is a scrape-time gauge. */
@Injectable()
export class WebhookMetrics {
  private readonly deliveries: Counter<'outcome'>;
  private readonly failures: Counter;
  private readonly restarts: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'webhook_delivery_failures_total',
      help: 'Webhook delivery attempts that failed (will be retried)',
      registers,
    });
    this.restarts = new Counter({
      name: 'webhook_dispatcher_restarts_total',
      help: 'Times the webhook worker of this replica stopped on a database error and was started again',
      registers,
    });
    for (const outcome of ['delivered', 'failed']) this.deliveries.inc({ outcome }, 0);
  }

  delivered(): void {
    this.deliveries.inc({ outcome: 'delivered' });
  }

  failed(): void {
    this.deliveries.inc({ outcome: 'failed' });
    this.failures.inc();
  }

  dispatcherRestarted(): void {
    this.restarts.inc();
  }
}
