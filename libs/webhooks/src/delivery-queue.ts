/**
 * How webhook delivery is laid out in graphile-worker (docs/architecture.md, "Webhooks"), in 16 named
 * queues chosen by the last hex digit of the review id. A named queue runs one job at a time, so two
 * jobs that concern the same review never run together; every job reads what it sends from the
 * outbox table, oldest first per review.
 *
 * - A *batch* job delivers the new events of the reviews that the enqueuer's passes of one window
 *   (DELIVERY_BATCH_WINDOW_MS) queued in one queue: its key names the queue and the window, so that
 *   the passes of every replica in that window add their reviews to the same job while it waits
 *   (graphile-worker appends array payloads), and no job's payload outgrows one window.
 * - A *review* job delivers one review's events after a failure (at most one waiting per review,
 *   run at the back-off time); batch jobs leave a review alone while its review job waits.
 */
export const DELIVER_REVIEW_TASK = 'webhooks.deliver-review';

export const DELIVER_BATCH_TASK = 'webhooks.deliver-batch';

export const DELIVERY_TASKS = [DELIVER_REVIEW_TASK, DELIVER_BATCH_TASK];

export const DELIVERY_JOB_KEY_PREFIX = 'webhooks:review:';

export const DELIVERY_BATCH_KEY_PREFIX = 'webhooks:batch:';

export const DELIVERY_QUEUE_PREFIX = 'webhooks:';

/**
 * The enqueuer's period, at the same instants on every replica: a new event waits for the next pass,
 * at most this long. Each job costs graphile-worker about three statements (add, fetch, complete)
 * whatever it carries; with 16 queues this bounds batch jobs to about 64 per second however many
 * reviews change, for a quarter of a second of delivery latency at most.
 */
export const DELIVERY_BATCH_WINDOW_MS = 250;

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

function reviewIdOf(value: unknown, task: string, payload: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value.toLowerCase())) {
    throw new Error(`${task}: payload has no review id: ${JSON.stringify(payload)}`);
  }
  return value.toLowerCase();
}

export function parseDeliverReviewPayload(payload: unknown): DeliverReviewPayload {
  return { reviewId: reviewIdOf((payload as { reviewId?: unknown } | null)?.reviewId, DELIVER_REVIEW_TASK, payload) };
}

/** A batch job's payload: the review ids its passes queued, each once, in the order they came. */
export function parseDeliverBatchPayload(payload: unknown): string[] {
  if (!Array.isArray(payload)) throw new Error(`${DELIVER_BATCH_TASK}: payload is not a list of review ids: ${JSON.stringify(payload)}`);
  return [...new Set(payload.map((value) => reviewIdOf(value, DELIVER_BATCH_TASK, payload)))];
}
