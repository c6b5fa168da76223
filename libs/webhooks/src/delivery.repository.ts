import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';

import {
  DELIVER_REVIEW_TASK,
  DELIVERY_JOB_KEY_PREFIX,
  DELIVERY_QUEUE_PREFIX,
  deliveryJobKey,
  deliveryQueueName,
} from './delivery-queue.js';
import { WEBHOOK_POOL } from './webhook-pool.js';

export interface PendingWebhookEvent {
  id: string;
  type: string;
  occurredAt: Date;
  /** The review as the API showed it when the event happened. */
  payload: unknown;
  /** Of the traced request or pass that caused the event; null when it was not traced. */
  traceparent: string | null;
}

/** The dispatcher's queries, on its own pool: outbox state and graphile-worker jobs. */
@Injectable()
export class DeliveryRepository {
  constructor(@Inject(WEBHOOK_POOL) private readonly pool: pg.Pool) {}

  /** The review's oldest undelivered events, at most `limit`, in the order they must be sent. */
  async pendingOf(reviewId: string, limit: number): Promise<PendingWebhookEvent[]> {
    const { rows } = await this.pool.query<PendingWebhookEvent>(
      `SELECT id::text AS id, type, occurred_at AS "occurredAt", payload, traceparent
       FROM webhook_events WHERE review_id = $1 AND delivered_at IS NULL
       ORDER BY occurred_at, id LIMIT $2`,
      [reviewId, limit],
    );
    return rows;
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
   * Adds the delivery jobs of events not queued yet (at most `limit` events, oldest first) and marks
   * them queued, in one transaction: a job exists for every queued event, and events another replica
   * is queueing at the same moment are skipped, not waited for (they are its to queue). One job per
   * review (`preserve_run_at`: a review backing off stays backed off), so graphile-worker's NOTIFY
   * is sent once per batch, at its commit. Returns the events queued.
   */
  async enqueueNew(limit: number): Promise<number> {
    const { rows } = await this.pool.query<{ events: number }>(
      `WITH picked AS (
         SELECT id FROM webhook_events WHERE NOT queued ORDER BY occurred_at LIMIT $4 FOR UPDATE SKIP LOCKED),
       marked AS (
         UPDATE webhook_events e SET queued = true FROM picked WHERE e.id = picked.id RETURNING e.review_id::text AS review_id),
       jobs AS (
         SELECT count(*) AS n FROM (SELECT DISTINCT review_id FROM marked) r,
           LATERAL graphile_worker.add_job($1, json_build_object('reviewId', r.review_id), queue_name => $3 || right(r.review_id, 1),
                                           job_key => $2 || r.review_id, job_key_mode => 'preserve_run_at'))
       SELECT (SELECT count(*)::int FROM marked) AS events FROM jobs`,
      [DELIVER_REVIEW_TASK, DELIVERY_JOB_KEY_PREFIX, DELIVERY_QUEUE_PREFIX, limit],
    );
    return rows[0]?.events ?? 0;
  }

  /** Says that the worker pool is alive; see releaseLocksOfDeadWorkers. */
  async beat(workerId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO webhook_dispatchers (worker_id) VALUES ($1)
       ON CONFLICT (worker_id) DO UPDATE SET heartbeat_at = now()`,
      [workerId],
    );
  }

  /**
   * Frees the jobs and queues that the worker pools hold (graphile_worker.force_unlock_workers) and
   * forgets the pools. Only for pools that no longer run a task: their jobs become runnable at once.
   * A held job that a newer event superseded (graphile-worker then clears its key and gives it up)
   * would never run again nor be removed: it is deleted.
   */
  async releaseLocksOf(workerIds: string[]): Promise<void> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM graphile_worker.jobs
       WHERE locked_by = ANY($1::text[]) AND task_identifier = $2 AND key IS NULL AND attempts >= max_attempts`,
      [workerIds, DELIVER_REVIEW_TASK],
    );
    await this.pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [workerIds]);
    if (rows.length > 0) await this.pool.query('SELECT FROM graphile_worker.complete_jobs($1::bigint[])', [rows.map((row) => row.id)]);
    await this.pool.query('DELETE FROM webhook_dispatchers WHERE worker_id = ANY($1::text[])', [workerIds]);
  }

  /**
   * A worker pool that died (killed, crashed, lost its host or its database connection for good)
   * leaves its jobs and their queues locked; graphile-worker itself frees such locks only after
   * 4 hours. Every live pool beats at least every few seconds, so a pool silent for `silenceMs`
   * holding locks at least that old is dead: its locks are released. Returns the dead pools.
   */
  async releaseLocksOfDeadWorkers(silenceMs: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ worker: string }>(
      `SELECT DISTINCT j.locked_by AS worker FROM graphile_worker.jobs j
       WHERE j.task_identifier = $1 AND j.locked_at < now() - $2 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM webhook_dispatchers d
                         WHERE d.worker_id = j.locked_by AND d.heartbeat_at >= now() - $2 * interval '1 millisecond')`,
      [DELIVER_REVIEW_TASK, silenceMs],
    );
    const workers = rows.map((row) => row.worker);
    if (workers.length > 0) await this.releaseLocksOf(workers);
    await this.pool.query(`DELETE FROM webhook_dispatchers WHERE heartbeat_at < now() - $1 * interval '1 millisecond'`, [silenceMs]);
    return workers;
  }

  /**
   * Safety net: a review with events undelivered for `olderThanMs` but no runnable job (its job ran
   * out of attempts after unexpected errors, or was removed by hand) gets a new one, in one
   * statement. Returns the reviews re-queued.
   */
  async requeueOrphans(olderThanMs: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ reviewId: string }>(
      `WITH orphans AS (
         SELECT DISTINCT e.review_id::text AS review_id FROM webhook_events e
         WHERE e.delivered_at IS NULL AND e.occurred_at < now() - $4 * interval '1 millisecond'
           AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j WHERE j.key = $2 || e.review_id::text AND j.attempts < j.max_attempts)
         LIMIT 1000)
       SELECT o.review_id AS "reviewId" FROM orphans o,
         LATERAL graphile_worker.add_job($1, json_build_object('reviewId', o.review_id), queue_name => $3 || right(o.review_id, 1),
                                         job_key => $2 || o.review_id, job_key_mode => 'preserve_run_at')`,
      [DELIVER_REVIEW_TASK, DELIVERY_JOB_KEY_PREFIX, DELIVERY_QUEUE_PREFIX, olderThanMs],
    );
    return rows.map((row) => row.reviewId);
  }
}
