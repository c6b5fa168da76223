import { randomUUID } from 'node:crypto';

import { runMigrations } from 'graphile-worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { cloneTemplate, dropDatabase, testPool } from '../../../test/support/database.js';
import { lockJobAs } from '../../../test/support/webhook-jobs.js';
import { DeliveryRepository, ENQUEUE_NEW_SQL } from './delivery.repository.js';
import {
  DELIVER_BATCH_TASK,
  DELIVER_REVIEW_TASK,
  DELIVERY_BATCH_KEY_PREFIX,
  DELIVERY_BATCH_WINDOW_MS,
  DELIVERY_QUEUE_PREFIX,
  deliveryJobKey,
  deliveryQueueName,
} from './delivery-queue.js';

describe('DeliveryRepository against PostgreSQL', () => {
  let databaseName: string;
  let pool: pg.Pool;
  let deliveries: DeliveryRepository;

  beforeAll(async () => {
    databaseName = await cloneTemplate(inject('templateDatabase'));
    pool = testPool(databaseName, 3);
    await runMigrations({ pgPool: pool });
    deliveries = new DeliveryRepository(pool);
  });
  afterAll(async () => {
    await pool.end();
    await dropDatabase(databaseName);
  });

  /** A delivery job for a new review, taken `lockedAgo` ago by `worker` with its queue, as graphile-worker's get_job does. */
  async function jobHeldBy(worker: string, lockedAgo: string): Promise<string> {
    const reviewId = randomUUID();
    await pool.query(`SELECT graphile_worker.add_job($1, json_build_object('reviewId', $2::text), queue_name => $3, job_key => $4)`, [
      DELIVER_REVIEW_TASK,
      reviewId,
      deliveryQueueName(reviewId),
      deliveryJobKey(reviewId),
    ]);
    await lockJobAs(pool, deliveryJobKey(reviewId), worker, lockedAgo);
    return deliveryJobKey(reviewId);
  }

  async function holderOf(key: string): Promise<string | null> {
    const { rows } = await pool.query<{ lockedBy: string | null }>(
      'SELECT locked_by AS "lockedBy" FROM graphile_worker.jobs WHERE key = $1',
      [key],
    );
    return rows[0].lockedBy;
  }

  it('releases the locks of a worker pool only once it has been silent for the given time', async () => {
    const alive = `pool-alive-${randomUUID()}`;
    const silent = `pool-silent-${randomUUID()}`;
    const unregistered = `pool-unregistered-${randomUUID()}`;
    const justStarted = `pool-new-${randomUUID()}`;
    const aliveJob = await jobHeldBy(alive, '10 minutes');
    const silentJob = await jobHeldBy(silent, '10 minutes');
    const unregisteredJob = await jobHeldBy(unregistered, '10 minutes');
    // A pool may take a job before its first heartbeat lands: a recent lock is never released.
    const freshJob = await jobHeldBy(justStarted, '2 seconds');
    await deliveries.beat(alive);
    await pool.query(`INSERT INTO webhook_dispatchers (worker_id, heartbeat_at) VALUES ($1, now() - interval '61 seconds')`, [silent]);

    const released = await deliveries.releaseLocksOfDeadWorkers(60_000);

    expect(released.sort()).toEqual([silent, unregistered].sort());
    expect(await holderOf(aliveJob)).toBe(alive);
    expect(await holderOf(silentJob)).toBeNull();
    expect(await holderOf(unregisteredJob)).toBeNull();
    expect(await holderOf(freshJob)).toBe(justStarted);
    const queues = await pool.query('SELECT locked_by FROM graphile_worker._private_job_queues WHERE locked_by = ANY($1::text[])', [
      [silent, unregistered],
    ]);
    expect(queues.rows).toEqual([]);
    const dispatchers = await pool.query('SELECT worker_id FROM webhook_dispatchers WHERE worker_id = ANY($1::text[])', [[alive, silent]]);
    expect(dispatchers.rows).toEqual([{ worker_id: alive }]);
  });

  it('deletes a released job that a newer event superseded, and keeps the new one', async () => {
    const worker = `pool-dead-${randomUUID()}`;
    const key = await jobHeldBy(worker, '1 minute');
    const reviewId = key.slice('webhooks:review:'.length);
    // A new event while the job is held: graphile-worker gives the held job up and adds another.
    await pool.query(`SELECT graphile_worker.add_job($1, json_build_object('reviewId', $2::text), queue_name => $3, job_key => $4)`, [
      DELIVER_REVIEW_TASK,
      reviewId,
      deliveryQueueName(reviewId),
      key,
    ]);

    await deliveries.releaseLocksOf([worker]);

    const { rows } = await pool.query(
      `SELECT key, locked_by AS "lockedBy", attempts FROM graphile_worker._private_jobs WHERE payload->>'reviewId' = $1`,
      [reviewId],
    );
    expect(rows).toEqual([{ key, lockedBy: null, attempts: 0 }]);
  });

  it('re-queues reviews whose undelivered events are older than the given age and have no job', async () => {
    const orphan = randomUUID();
    const recent = randomUUID();
    await pool.query(
      `INSERT INTO webhook_events (type, review_id, occurred_at, payload) VALUES
         ('review.assigned', $1, now() - interval '5 minutes', '{}'), ('review.started', $1, now() - interval '4 minutes', '{}'),
         ('review.assigned', $2, now(), '{}')`,
      [orphan, recent],
    );

    expect(await deliveries.requeueOrphans(30_000)).toEqual([orphan]);
    expect(await holderOf(deliveryJobKey(orphan))).toBeNull();
    const job = await pool.query('SELECT queue_name FROM graphile_worker.jobs WHERE key = $1', [deliveryJobKey(orphan)]);
    expect(job.rows).toEqual([{ queue_name: deliveryQueueName(orphan) }]);
    expect(await deliveries.requeueOrphans(30_000)).toEqual([]);
  });

  /** A new review id in the given queue (its id's last hex digit). */
  function reviewInQueue(digit: string): string {
    return `${randomUUID().slice(0, -1)}${digit}`;
  }

  async function batchJobs(): Promise<{ key: string; queue: string; reviews: string[]; runAt: Date }[]> {
    const { rows } = await pool.query<{ key: string; queue: string; reviews: string[]; runAt: Date }>(
      `SELECT j.key, q.queue_name AS queue, j.payload AS reviews, j.run_at AS "runAt"
       FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks t ON t.id = j.task_id
       JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
       WHERE t.identifier = $1 ORDER BY q.queue_name`,
      [DELIVER_BATCH_TASK],
    );
    return rows;
  }

  /**
   * Records an event as a write does (event log and, unless `outbox` is false, outbox, with one id)
   * and, unless `positioned` is false, gives it the next position as the event sequencer does.
   */
  async function logEvent(reviewId: string, { outbox = true, positioned = true, delivered = false } = {}): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload, position)
       SELECT gen_random_uuid(), 'review.assigned', $1, gen_random_uuid(), gen_random_uuid(), now(), '{}',
              CASE WHEN $2 THEN (SELECT coalesce(max(position), 0) + 1 FROM review_events) END
       RETURNING id::text`,
      [reviewId, positioned],
    );
    const id = rows[0].id;
    if (outbox) {
      await pool.query(
        `INSERT INTO webhook_events (id, type, review_id, payload, delivered_at)
         VALUES ($1, 'review.assigned', $2, '{}', CASE WHEN $3 THEN now() END)`,
        [id, reviewId, delivered],
      );
    }
    return id;
  }

  /** Earlier tests' events out of the way: delivered, passed by the cursor, and their jobs gone. */
  async function startFromEmptyQueue(): Promise<void> {
    await pool.query('UPDATE webhook_events SET delivered_at = now() WHERE delivered_at IS NULL');
    await pool.query(
      `UPDATE review_events e SET position = base.at + unpositioned.n
       FROM (SELECT coalesce(max(position), 0) AS at FROM review_events) base,
            (SELECT id, row_number() OVER (ORDER BY seq) AS n FROM review_events WHERE position IS NULL) unpositioned
       WHERE e.id = unpositioned.id`,
    );
    await pool.query('UPDATE webhook_queue_cursor SET position = (SELECT coalesce(max(position), 0) FROM review_events)');
    await pool.query('DELETE FROM graphile_worker._private_jobs');
  }

  it("queues new events in one batch job per queue and window, due at once, appending a later pass's reviews while it waits", async () => {
    await startFromEmptyQueue();
    const [a1, a2, b1] = [reviewInQueue('a'), reviewInQueue('a'), reviewInQueue('b')];
    // Both passes within one window: wait for the start of the next one if this one is nearly over.
    const intoWindow = DELIVERY_BATCH_WINDOW_MS - (Date.now() % DELIVERY_BATCH_WINDOW_MS);
    if (intoWindow < 100) await new Promise((resolve) => setTimeout(resolve, intoWindow + 5));
    await logEvent(a1);
    await logEvent(a1);
    await logEvent(b1);
    const queuedAt = Date.now();

    expect(await deliveries.enqueueNew(500)).toBe(3);
    await logEvent(a2);
    expect(await deliveries.enqueueNew(500)).toBe(1);
    expect(await deliveries.enqueueNew(500)).toBe(0);

    const jobs = await batchJobs();
    expect(jobs.map(({ queue, reviews }) => ({ queue, reviews }))).toEqual([
      { queue: deliveryQueueName(a1), reviews: [a1, a2] },
      { queue: deliveryQueueName(b1), reviews: [b1] },
    ]);
    for (const job of jobs) {
      expect(job.key).toMatch(/^webhooks:batch:[ab]:\d+$/);
      // Named by the end of the window the passes ran in, and due at once.
      const windowEnd = Number(job.key.split(':').at(-1));
      expect(windowEnd % DELIVERY_BATCH_WINDOW_MS).toBe(0);
      expect(windowEnd - queuedAt).toBeLessThanOrEqual(DELIVERY_BATCH_WINDOW_MS);
      expect(job.runAt.getTime()).toBeLessThanOrEqual(Date.now());
    }
    // Reviews named by a waiting batch job are not orphans, however old their events.
    await pool.query(`UPDATE webhook_events SET occurred_at = occurred_at - interval '10 minutes' WHERE review_id = ANY($1::uuid[])`, [
      [a1, a2, b1],
    ]);
    expect(await deliveries.requeueOrphans(30_000)).toEqual([]);
  });

  it('passes, without a job, events that have no outbox row or are delivered, and waits for an event to be positioned', async () => {
    await startFromEmptyQueue();
    const [withoutOutbox, delivered, unpositioned, queued] = ['1', '2', '3', '4'].map(reviewInQueue);
    await logEvent(withoutOutbox, { outbox: false });
    await logEvent(delivered, { delivered: true });
    const waiting = await logEvent(unpositioned, { positioned: false });
    await logEvent(queued);

    expect(await deliveries.enqueueNew(500)).toBe(3);
    expect((await batchJobs()).flatMap((job) => job.reviews)).toEqual([queued]);

    await pool.query('UPDATE review_events SET position = (SELECT max(position) FROM review_events) + 1 WHERE id = $1', [waiting]);
    expect(await deliveries.enqueueNew(500)).toBe(1);
    expect((await batchJobs()).flatMap((job) => job.reviews).sort()).toEqual([unpositioned, queued].sort());
  });

  it('queues in batches of the given size, and a pass while another holds the cursor queues nothing and does not wait', async () => {
    await startFromEmptyQueue();
    const reviews = ['5', '6', '7'].map(reviewInQueue);
    for (const reviewId of reviews) await logEvent(reviewId);

    const otherPass = await pool.connect();
    try {
      await otherPass.query('BEGIN');
      await otherPass.query('SELECT position FROM webhook_queue_cursor FOR UPDATE');
      // A pass that waited for the lock would never return: the lock is released after it.
      expect(await deliveries.enqueueNew(500)).toBe(0);
      await otherPass.query('COMMIT');
    } finally {
      otherPass.release();
    }

    expect(await deliveries.enqueueNew(2)).toBe(2);
    expect(await deliveries.enqueueNew(2)).toBe(1);
    expect(await deliveries.enqueueNew(2)).toBe(0);
    expect((await batchJobs()).flatMap((job) => job.reviews).sort()).toEqual([...reviews].sort());
  });

  interface PlanNode {
    'Relation Name'?: string;
    'Actual Rows': number;
    Plans?: PlanNode[];
  }

  function planNodes(node: PlanNode): PlanNode[] {
    return [node, ...(node.Plans ?? []).flatMap(planNodes)];
  }

  it('reads the event log from the cursor on, not from its start', async () => {
    await startFromEmptyQueue();
    await pool.query(
      `INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload, position)
       SELECT gen_random_uuid(), 'review.assigned', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), now(), '{}', base.at + g
       FROM (SELECT coalesce(max(position), 0) AS at FROM review_events) base, generate_series(1, 5000) g`,
    );
    await pool.query('UPDATE webhook_queue_cursor SET position = (SELECT max(position) FROM review_events)');
    await pool.query('ANALYZE review_events');
    await logEvent(reviewInQueue('c'));

    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${ENQUEUE_NEW_SQL}`, [
        DELIVER_BATCH_TASK,
        DELIVERY_BATCH_KEY_PREFIX,
        DELIVERY_QUEUE_PREFIX,
        DELIVERY_BATCH_WINDOW_MS,
        500,
      ]);
      const logReads = planNodes(rows[0]['QUERY PLAN'][0].Plan).filter((node) => node['Relation Name'] === 'review_events');
      expect(logReads.map((node) => node['Actual Rows'])).toEqual([1]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
