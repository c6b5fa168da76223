/**
 * How webhook delivery is laid out in graphile-worker (docs/architecture.md, "Webhooks"):
 * one job per review that has undelivered events, identified by a job key so that there is at most
 * one waiting job per review, in one of 16 named queues chosen by the review id. A named queue runs
 * one job at a time, so two jobs of the same review never run together; the job itself delivers
 * the review's events oldest first from the outbox table.
 */
export const DELIVER_REVIEW_TASK = 'webhooks.deliver-review';

export const DELIVERY_JOB_KEY_PREFIX = 'webhooks:review:';

export const DELIVERY_QUEUE_PREFIX = 'webhooks:';

export interface DeliverReviewPayload {
  reviewId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function deliveryJobKey(reviewId: string): string {
  return `${DELIVERY_JOB_KEY_PREFIX}${reviewId.toLowerCase()}`;
}

/**
 * The last hex digit of the review id picks one of 16 queues: few enough for graphile-worker's
 * queue locking (its docs warn against one queue per UUID), many more than the worker's concurrency.
 * A review always lands in the same queue, which is what keeps its jobs from overlapping.
 */
export function deliveryQueueName(reviewId: string): string {
  return `${DELIVERY_QUEUE_PREFIX}${reviewId.toLowerCase().slice(-1)}`;
}

export function parseDeliverReviewPayload(payload: unknown): DeliverReviewPayload {
  const reviewId = (payload as { reviewId?: unknown } | null)?.reviewId;
  if (typeof reviewId !== 'string' || !UUID.test(reviewId.toLowerCase())) {
    throw new Error(`${DELIVER_REVIEW_TASK}: payload has no review id: ${JSON.stringify(payload)}`);
  }
  return { reviewId: reviewId.toLowerCase() };
}
