import { Inject, Injectable, Logger } from '@nestjs/common';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { inSpan, WebhookMetrics } from '@app/observability';

import { DeliveryRepository, type PendingWebhookEvent, type SentEvent } from './delivery.repository.js';
import { retryDelayMs } from './retry-schedule.js';
import { type DeliveryOutcome, WebhookSender } from './webhook-sender.js';

/**
 * One run of a review's delivery job stops taking new events after this long and re-queues the
 * review, so that other reviews of its queue get a turn and a job's lock is never held for long.
 */
const DELIVERY_RUN_BUDGET_MS = 30_000;
/** Undelivered events of a run's reviews read per query. */
const READ_SIZE = 100;

/** Delivers reviews' pending webhook events, oldest first per review (see deliverReviews). */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly sender: WebhookSender,
    private readonly metrics: WebhookMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The body of both tasks: a batch job's reviews, or a review job's one review. Sends each review's
   * undelivered events oldest first, one at a time, so the receiver sees each review's events in
   * order; reviews go one after the other in the order of their oldest event. After a failure the
   * review is re-queued on its own (its review job, at the back-off delay) and left out of the rest
   * of the run, so its later events wait while the other reviews go on; retries go on until the
   * event is delivered (the contract asks for at least 24 h: at the 10-minute cap that is about 150
   * attempts, and nothing is dropped). Reviews backing off are left to their review job. Events are
   * read in batches; once a batch comes back short the run ends without asking again: an event
   * queued while this job runs gets a job of its own. When the run stops early (shutdown, or its
   * 30 s are over), the reviews it has not finished get review jobs due now.
   */
  async deliverReviews(reviewIds: string[], shutdown: AbortSignal): Promise<void> {
    const deadline = Date.now() + DELIVERY_RUN_BUDGET_MS;
    const failed = new Set<string>();
    for (;;) {
      const remaining = reviewIds.filter((reviewId) => !failed.has(reviewId));
      if (remaining.length === 0) return;
      const events = await this.deliveries.pendingOfReviews(remaining, READ_SIZE);
      const sent: SentEvent[] = [];
      try {
        for (const event of events) {
          if (failed.has(event.reviewId)) continue;
          if (shutdown.aborted || Date.now() >= deadline) {
            // Marked first, so that a review whose events have all been sent is not re-queued.
            await this.deliveries.markDelivered(sent.splice(0));
            await this.deliveries.requeueReviews(reviewIds);
            return;
          }
          if (!(await this.deliver(event, shutdown, sent))) failed.add(event.reviewId);
        }
      } finally {
        await this.deliveries.markDelivered(sent);
      }
      if (events.length < READ_SIZE) return;
    }
  }

  /**
   * One attempt at one event: on success added to `sent` (the caller marks a read's events
   * delivered together, before it reads again or ends); false when it failed and the review was
   * re-queued for later.
   */
  private async deliver(event: PendingWebhookEvent, shutdown: AbortSignal, sent: SentEvent[]): Promise<boolean> {
    const { reviewId } = event;
    const attemptedAt = new Date();
    // A child of the request or pass that caused the event, however much later it is delivered.
    const outcome = await inSpan(
      `webhook ${event.type}`,
      {
        kind: SpanKind.CLIENT,
        traceparent: event.traceparent,
        attributes: { 'webhook.event_id': event.id, 'webhook.event_type': event.type, 'review.id': reviewId },
      },
      async (span): Promise<DeliveryOutcome> => {
        const result = await this.sender.send(event, shutdown);
        if (!result.delivered) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
        return result;
      },
    );
    if (outcome.delivered) {
      sent.push({ id: event.id, attemptedAt });
      this.metrics.delivered();
      return true;
    }
    const attempts = await this.deliveries.recordFailure(event.id, attemptedAt, outcome.error);
    this.metrics.failed();
    // An interrupted attempt says nothing about the receiver: the next worker may retry at once.
    const delayMs = outcome.interrupted ? 0 : retryDelayMs(attempts, this.config.webhook.backoffBaseMs);
    await this.deliveries.scheduleReview(reviewId, delayMs);
    this.logger.warn(
      `Webhook ${event.type} ${event.id} (review ${reviewId}) failed, attempt ${attempts}: ${outcome.error}; next attempt in ${delayMs} ms`,
    );
    return false;
  }
}
