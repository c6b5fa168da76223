import { Injectable } from '@nestjs/common';

import { col, columns, Prisma, PrismaService, quoteIdentifier, type RowOf } from '@app/database';
import { activeTraceparent } from '@app/observability';

import { DELIVERY_BATCH_KEY_PREFIX, DELIVERY_JOB_KEY_PREFIX } from './delivery-queue.js';

export type WebhookDeliveryStatus = 'pending' | 'failed' | 'delivered';

export interface WebhookEventFilter {
  statuses: WebhookDeliveryStatus[];
  reviewId?: string;
  type?: string;
}

const EVENT_COLUMNS = columns('webhook_events', 'e', {
  id: col.uuid('id'),
  type: col.text('type'),
  reviewId: col.uuid('review_id'),
  occurredAt: col.timestamptz('occurred_at'),
  deliveredAt: col.timestamptz('delivered_at').nullable(),
  attempts: col.integer('attempts'),
  lastError: col.text('last_error').nullable(),
  lastAttemptAt: col.timestamptz('last_attempt_at').nullable(),
});

export type WebhookEventRow = RowOf<typeof EVENT_COLUMNS> & { nextAttemptAt: Date | null };

/** OutboxRepository.purgeDelivered's statement; exported for the test that checks its plan. $1 retention in hours, $2 limit. */
export const PURGE_DELIVERED_SQL = `DELETE FROM webhook_events
   -- An array, not a join, which the planner may turn into a hash join that reads the whole outbox.
   WHERE id = ANY(ARRAY(
     SELECT id FROM webhook_events
     WHERE delivered_at IS NOT NULL AND delivered_at < now() - make_interval(hours => $1::int)
     ORDER BY delivered_at LIMIT $2::int FOR UPDATE SKIP LOCKED))`;

/** webhook_events as the API writes and lists it; the dispatcher's own queries are in DeliveryRepository. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * The statement that copies events, as the event log's step `logged` records them (see
   * EventLogRepository.appendSteps), into the outbox, in the same statement and so the same transaction:
   * an event is there exactly when its change commits. Its delivery job is added after the commit,
   * by the enqueuer (DeliveryRepository.enqueueNew), not here: a job added in the business
   * transaction would NOTIFY at its commit, and NOTIFY serialises the commits of every writer.
   */
  copyOf(logged: string): Prisma.Sql {
    const traceparent = activeTraceparent() ?? null;
    return Prisma.sql`
      INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, traceparent)
      SELECT id, type, review_id, occurred_at, payload, ${traceparent}::text FROM ${Prisma.raw(quoteIdentifier(logged))}`;
  }

  /**
   * Deletes at most `limit` events delivered more than `retentionHours` ago, earliest delivery first;
   * undelivered events are never deleted. Rows another replica's purge is deleting at the same
   * moment are skipped, not waited for.
   */
  async purgeDelivered(retentionHours: number, limit: number): Promise<number> {
    return this.prisma.$executeRawUnsafe(PURGE_DELIVERED_SQL, retentionHours, limit);
  }

  async count(filter: WebhookEventFilter): Promise<number> {
    const [row] = await this.prisma.$queryRaw<
      { total: number }[]
    >`SELECT count(*)::int AS total FROM webhook_events e WHERE ${this.where(filter)}`;
    return row?.total ?? 0;
  }

  /**
   * Oldest first, the order of delivery. `nextAttemptAt` is the run time of the job that will deliver
   * the review's events next: its review job when it has one (a review backing off), else the batch
   * job naming it; shown on the review's oldest undelivered event (later ones wait for it). Without
   * the job queue (no WEBHOOK_URL) it is null.
   */
  async list(filter: WebhookEventFilter, offset: number, limit: number, withQueue: boolean): Promise<WebhookEventRow[]> {
    const nextAttemptAt = withQueue
      ? Prisma.sql`CASE WHEN e.delivered_at IS NULL AND NOT EXISTS (
            SELECT 1 FROM webhook_events p
            WHERE p.review_id = e.review_id AND p.delivered_at IS NULL AND (p.occurred_at, p.id) < (e.occurred_at, e.id))
          THEN coalesce(
            (SELECT j.run_at FROM graphile_worker.jobs j
             WHERE j.key = ${DELIVERY_JOB_KEY_PREFIX} || e.review_id::text AND j.attempts < j.max_attempts),
            (SELECT min(j.run_at) FROM graphile_worker._private_jobs j
             WHERE j.key LIKE ${DELIVERY_BATCH_KEY_PREFIX} || right(e.review_id::text, 1) || ':%'
               AND j.attempts < j.max_attempts AND j.payload::jsonb @> jsonb_build_array(e.review_id::text)))
          END`
      : Prisma.sql`NULL::timestamptz`;
    return EVENT_COLUMNS.queryWith<{ nextAttemptAt: Date | null }>(
      this.prisma,
      Prisma.sql`SELECT ${EVENT_COLUMNS.select}, ${nextAttemptAt} AS "nextAttemptAt"
      FROM webhook_events e
      WHERE ${this.where(filter)}
      ORDER BY e.occurred_at, e.id
      OFFSET ${offset} LIMIT ${limit}`,
    );
  }

  private where(filter: WebhookEventFilter): Prisma.Sql {
    const states = filter.statuses.map((status) => {
      if (status === 'delivered') return Prisma.sql`e.delivered_at IS NOT NULL`;
      if (status === 'failed') return Prisma.sql`(e.delivered_at IS NULL AND e.attempts > 0)`;
      return Prisma.sql`(e.delivered_at IS NULL AND e.attempts = 0)`;
    });
    const conditions = [Prisma.sql`(${Prisma.join(states, ' OR ')})`];
    if (filter.reviewId) conditions.push(Prisma.sql`e.review_id = ${filter.reviewId}::uuid`);
    if (filter.type) conditions.push(Prisma.sql`e.type = ${filter.type}`);
    return Prisma.join(conditions, ' AND ');
  }
}
