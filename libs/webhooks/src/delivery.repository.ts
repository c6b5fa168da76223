import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';

import { DELIVER_REVIEW_TASK, DELIVERY_JOB_KEY_PREFIX, deliveryJobKey, deliveryQueueName } from './delivery-queue.js';
import { WEBHOOK_POOL } from './webhook-pool.js';

export interface PendingWebhookEvent {
  id: string;
  type: string;
  occurredAt: Date;
  /** The review as the API showed it when the event happened. */
  payload: unknown;
}

/** The dispatcher's queries, on its own pool: outbox state and graphile-worker jobs. */
@Injectable()
export class DeliveryRepository {
  constructor(@Inject(WEBHOOK_POOL) private readonly pool: pg.Pool) {}

  /** The review's oldest undelivered event: the only one that may be sent now. */
  async oldestPending(reviewId: string): Promise<PendingWebhookEvent | null> {
    const { rows } = await this.pool.query<PendingWebhookEvent>(
      `SELECT id::text AS id, type, occurred_at AS "occurredAt", payload
       FROM webhook_events WHERE review_id = $1 AND delivered_at IS NULL
       ORDER BY occurred_at, id LIMIT 1`,
      [reviewId],
    );
    return rows[0] ?? null;
  }

  async markDelivered(eventId: string, attemptedAt: Date): Promise<void> {
    await this.pool.query(
      `UPDATE webhook_events SET delivered_at = now(), attempts = attempts + 1, last_attempt_at = $2
       WHERE id = $1 AND delivered_at IS NULL`,
      [eventId, attemptedAt],
    );
  }

  /** Returns the event's attempts so far, this one included. */
  async recordFailure(eventId: string, attemptedAt: Date, error: string): Promise<number> {
    const { rows } = await this.pool.query<{ attempts: number }>(
      `UPDATE webhook_events SET attempts = attempts + 1, last_attempt_at = $2, last_error = $3
       WHERE id = $1 RETURNING attempts`,
      [eventId, attemptedAt, error],
    );
    return rows[0]?.attempts ?? 0;
  }

  /**
   * Schedules the review's next delivery run. Called from the running job, whose key then moves to
   * the new job; `replace` makes a back-off win over an earlier run time set by a newer event.
   */
  async scheduleReview(reviewId: string, delayMs: number): Promise<void> {
    await this.pool.query(
      `SELECT graphile_worker.add_job($1, json_build_object('reviewId', $2::text), queue_name => $3, job_key => $4,
         run_at => now() + $5 * interval '1 millisecond', job_key_mode => 'replace')`,
      [DELIVER_REVIEW_TASK, reviewId, deliveryQueueName(reviewId), deliveryJobKey(reviewId), delayMs],
    );
  }

  /**
   * A worker that died mid-job (killed, crashed, lost its host) leaves the job and its queue locked;
   * graphile-worker itself frees such locks only after 4 hours. A delivery job ends well within
   * `olderThanMs` (bounded request time, run budget and statement timeout), so a lock that old is
   * held by a dead worker, and graphile_worker.force_unlock_workers releases it.
   */
  async releaseStaleLocks(olderThanMs: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ worker: string }>(
      `SELECT DISTINCT locked_by AS worker FROM graphile_worker.jobs
       WHERE task_identifier = $1 AND locked_at < now() - $2 * interval '1 millisecond'`,
      [DELIVER_REVIEW_TASK, olderThanMs],
    );
    const workers = rows.map((row) => row.worker);
    if (workers.length > 0) await this.pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [workers]);
    return workers;
  }

  /**
   * Safety net: a review with undelivered events but no runnable job (its job ran out of attempts
   * after unexpected errors, or was removed by hand) gets a new one. Returns the reviews re-queued.
   */
  async requeueOrphans(): Promise<string[]> {
    const { rows } = await this.pool.query<{ reviewId: string }>(
      `SELECT DISTINCT e.review_id::text AS "reviewId" FROM webhook_events e
       WHERE e.delivered_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j WHERE j.key = $1 || e.review_id::text AND j.attempts < j.max_attempts)`,
      [DELIVERY_JOB_KEY_PREFIX],
    );
    for (const { reviewId } of rows) {
      await this.pool.query(
        `SELECT graphile_worker.add_job($1, json_build_object('reviewId', $2::text), queue_name => $3, job_key => $4, job_key_mode => 'preserve_run_at')`,
        [DELIVER_REVIEW_TASK, reviewId, deliveryQueueName(reviewId), deliveryJobKey(reviewId)],
      );
    }
    return rows.map((row) => row.reviewId);
  }
}
