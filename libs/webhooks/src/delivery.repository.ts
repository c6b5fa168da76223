import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';

import {
  DELIVER_BATCH_TASK,
  DELIVER_REVIEW_TASK,
  DELIVERY_BATCH_KEY_PREFIX,
  DELIVERY_BATCH_WINDOW_MS,
  DELIVERY_JOB_KEY_PREFIX,
  DELIVERY_QUEUE_PREFIX,
  DELIVERY_TASKS,
  deliveryJobKey,
  deliveryQueueName,
} from './delivery-queue.js';
import { WEBHOOK_POOL } from './webhook-pool.js';

/**
 * DeliveryRepository.enqueueNew's statement; exported for the test that checks its plan. Parameters:
 * $1 batch task, $2 batch key prefix, $3 queue prefix, $4 window in ms, $5 limit.
 */
export const ENQUEUE_NEW_SQL = `WITH cursor AS (
     SELECT position FROM webhook_queue_cursor FOR UPDATE SKIP LOCKED),
   passed AS (
     -- A scalar subquery, so that the cursor bounds the index scan: as a join, every earlier position is read and filtered.
     SELECT r.id, r.position FROM review_events r WHERE r.position > (SELECT position FROM cursor) ORDER BY r.position LIMIT $5),
   moved AS (
     UPDATE webhook_queue_cursor SET position = last.position
     FROM (SELECT max(position) AS position FROM passed) last WHERE last.position IS NOT NULL),
   reviews AS (
     SELECT DISTINCT w.review_id::text AS review_id FROM passed p JOIN webhook_events w ON w.id = p.id WHERE w.delivered_at IS NULL),
   window_end AS (
     SELECT (ceil(extract(epoch FROM now()) * 1000 / $4) * $4)::bigint AS ms),
   batches AS (
     SELECT right(review_id, 1) AS queue, json_agg(review_id) AS reviews FROM reviews GROUP BY 1),
   added AS (
     SELECT graphile_worker.add_jobs(
       array_agg(($1, b.reviews, $3 || b.queue, NULL, NULL, $2 || b.queue || ':' || w.ms, NULL, NULL)::graphile_worker.job_spec),
       job_key_preserve_run_at => true)
     FROM batches b, window_end w HAVING count(*) > 0)
   SELECT (SELECT count(*)::int FROM passed) AS events,
          -- A CTE without data-modifying statements runs only when referenced: this adds the jobs.
          (SELECT count(*) FROM added) AS jobs`;

export interface PendingWebhookEvent {
  id: string;
  reviewId: string;
  type: string;
  occurredAt: Date;
  /** The review as the API showed it when the event happened. */
  payload: unknown;
  /** Of the traced request or pass that caused the event; null when it was not traced. */
  traceparent: string | null;
}

/** An event sent with success, not yet marked delivered. */
export interface SentEvent {
  id: string;
  /** When its successful attempt started. */
  attemptedAt: Date;
}

/** The dispatcher's queries, on its own pool: outbox state and graphile-worker jobs. */
@Injectable()
export class DeliveryRepository {
  constructor(@Inject(WEBHOOK_POOL) private readonly pool: pg.Pool) {}

  /**
   * The oldest undelivered events of these reviews, at most `limit`, oldest first (so each review's
   * in the order they must be sent), leaving out the reviews that back off: those whose review job
   * waits for a later time, which delivers their events then.
   */
  async pendingOfReviews(reviewIds: string[], limit: number): Promise<PendingWebhookEvent[]> {
    const { rows } = await this.pool.query<PendingWebhookEvent>(
      `SELECT e.id::text AS id, e.review_id::text AS "reviewId", e.type, e.occurred_at AS "occurredAt", e.payload, e.traceparent
       FROM webhook_events e
       WHERE e.review_id = ANY($1::uuid[]) AND e.delivered_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j
                         WHERE j.key = $2 || e.review_id::text AND j.locked_at IS NULL AND j.run_at > now())
       ORDER BY e.occurred_at, e.id LIMIT $3`,
      [reviewIds, DELIVERY_JOB_KEY_PREFIX, limit],
    );
    return rows;
  }

  /**
   * Marks events delivered, each with the start of its successful attempt, in one statement. The
   * events a run sent are marked together: a crash before it means they are sent again (at least
   * once), never lost.
   */
  async markDelivered(sent: SentEvent[]): Promise<void> {
    if (sent.length === 0) return;
    await this.pool.query(
      `UPDATE webhook_events e SET delivered_at = now(), attempts = e.attempts + 1, last_attempt_at = s.attempted_at
       FROM unnest($1::uuid[], $2::timestamptz[]) AS s(id, attempted_at)
       WHERE e.id = s.id AND e.delivered_at IS NULL`,
      [sent.map((event) => event.id), sent.map((event) => event.attemptedAt)],
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
   * Gives each of these reviews that still has undelivered events a review job due now, unless it
   * already has one (a review backing off keeps its time): what a batch job that stops early leaves.
   */
  async requeueReviews(reviewIds: string[]): Promise<void> {
    await this.pool.query(
      `SELECT count(*) FROM (
         SELECT graphile_worker.add_jobs(
           array_agg(($1, json_build_object('reviewId', p.review_id), $3 || right(p.review_id, 1), NULL, NULL, $2 || p.review_id, NULL, NULL)::graphile_worker.job_spec),
           job_key_preserve_run_at => true)
         FROM (SELECT DISTINCT review_id::text AS review_id FROM webhook_events WHERE review_id = ANY($4::uuid[]) AND delivered_at IS NULL) p
         HAVING count(*) > 0) added`,
      [DELIVER_REVIEW_TASK, DELIVERY_JOB_KEY_PREFIX, DELIVERY_QUEUE_PREFIX, reviewIds],
    );
  }

  /**
   * Queues the delivery of the events past the cursor in the event log (at most `limit`, in position
   * order, so in commit order) and moves the cursor past them, in one transaction: a job exists for
   * every event the cursor has passed. The cursor is locked without waiting: while another replica's
   * pass holds it, this one queues nothing (those events are its to queue). Events without an
   * outbox row (written while webhooks were off) or already delivered need no job. The reviews go
   * into the batch job of their queue for the current window (DELIVERY_BATCH_WINDOW_MS), due at once;
   * another replica's pass in the same window appends its reviews to it while it waits.
   * graphile-worker's NOTIFY is sent once per pass, at its commit. Returns the events the cursor passed.
   */
  async enqueueNew(limit: number): Promise<number> {
    const { rows } = await this.pool.query<{ events: number }>(ENQUEUE_NEW_SQL, [
      DELIVER_BATCH_TASK,
      DELIVERY_BATCH_KEY_PREFIX,
      DELIVERY_QUEUE_PREFIX,
      DELIVERY_BATCH_WINDOW_MS,
      limit,
    ]);
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
       WHERE locked_by = ANY($1::text[]) AND task_identifier = ANY($2::text[]) AND key IS NULL AND attempts >= max_attempts`,
      [workerIds, DELIVERY_TASKS],
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
       WHERE j.task_identifier = ANY($1::text[]) AND j.locked_at < now() - $2 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM webhook_dispatchers d
                         WHERE d.worker_id = j.locked_by AND d.heartbeat_at >= now() - $2 * interval '1 millisecond')`,
      [DELIVERY_TASKS, silenceMs],
    );
    const workers = rows.map((row) => row.worker);
    if (workers.length > 0) await this.releaseLocksOf(workers);
    await this.pool.query(`DELETE FROM webhook_dispatchers WHERE heartbeat_at < now() - $1 * interval '1 millisecond'`, [silenceMs]);
    return workers;
  }

  /**
   * Safety net: a review with events undelivered for `olderThanMs` but no runnable job that would
   * deliver them, neither its review job nor a batch job naming it (its job ran out of attempts
   * after unexpected errors, or was removed by hand), gets a review job, in one statement. Returns
   * the reviews re-queued.
   */
  async requeueOrphans(olderThanMs: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ reviewId: string }>(
      `WITH orphans AS (
         SELECT DISTINCT e.review_id::text AS review_id FROM webhook_events e
         WHERE e.delivered_at IS NULL AND e.occurred_at < now() - $4 * interval '1 millisecond'
           AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j WHERE j.key = $2 || e.review_id::text AND j.attempts < j.max_attempts)
           AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs j
                           WHERE j.key LIKE $5 || right(e.review_id::text, 1) || ':%'
                             AND j.attempts < j.max_attempts AND j.payload::jsonb @> jsonb_build_array(e.review_id::text))
         LIMIT 1000)
       SELECT o.review_id AS "reviewId" FROM orphans o,
         LATERAL graphile_worker.add_job($1, json_build_object('reviewId', o.review_id), queue_name => $3 || right(o.review_id, 1),
                                         job_key => $2 || o.review_id, job_key_mode => 'preserve_run_at')`,
      [DELIVER_REVIEW_TASK, DELIVERY_JOB_KEY_PREFIX, DELIVERY_QUEUE_PREFIX, olderThanMs, DELIVERY_BATCH_KEY_PREFIX],
    );
    return rows.map((row) => row.reviewId);
  }
}
