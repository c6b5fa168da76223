import { Injectable } from '@nestjs/common';

import { col, columns, Prisma, PrismaService, type RowOf, type Tx } from '@app/database';
import { activeTraceparent } from '@app/observability';

import { DELIVER_REVIEW_TASK, DELIVERY_JOB_KEY_PREFIX, deliveryJobKey, deliveryQueueName } from './delivery-queue.js';
import type { LoggedEvent } from './event-log.repository.js';

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

/** webhook_events as the API writes and lists it; the dispatcher's own queries are in DeliveryRepository. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Adds the events (as recorded in the event log: same id and time) and their delivery jobs in the
   * caller's transaction, so an event exists exactly when its change commits. Needs graphile-worker's
   * schema (installed at start when WEBHOOK_URL is set).
   */
  async append(tx: Tx, events: LoggedEvent[]): Promise<void> {
    const traceparent = activeTraceparent() ?? null;
    for (const reviewId of new Set(events.map((event) => event.review.id))) {
      const own = events.filter((event) => event.review.id === reviewId);
      const values = own.map(
        (event) => Prisma.sql`(${event.id}::uuid, ${event.type}::text, ${event.occurredAt}::timestamptz, ${JSON.stringify(event.review)}::jsonb)`,
      );
      // One round trip per review: its events and its delivery job. preserve_run_at: a review already
      // waiting out a back-off keeps its schedule.
      await tx.$queryRaw`
        WITH inserted AS (
          INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, traceparent)
          SELECT v.id, v.type, ${reviewId}::uuid, v.occurred_at, v.payload, ${traceparent}::text
          FROM (VALUES ${Prisma.join(values)}) AS v(id, type, occurred_at, payload)
          RETURNING id
        ),
        job AS (
          SELECT graphile_worker.add_job(${DELIVER_REVIEW_TASK}, json_build_object('reviewId', ${reviewId}::text),
            queue_name => ${deliveryQueueName(reviewId)}, job_key => ${deliveryJobKey(reviewId)}, job_key_mode => 'preserve_run_at') AS queued
        )
        SELECT count(*) FROM inserted, job`;
    }
  }

  async count(filter: WebhookEventFilter): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM webhook_events e WHERE ${this.where(filter)}`;
    return row?.total ?? 0;
  }

  /**
   * Oldest first, the order of delivery. `nextAttemptAt` is the run time of the review's delivery job,
   * shown on the review's oldest undelivered event (later ones wait for it); without the job queue
   * (no WEBHOOK_URL) it is null.
   */
  async list(filter: WebhookEventFilter, offset: number, limit: number, withQueue: boolean): Promise<WebhookEventRow[]> {
    const nextAttemptAt = withQueue
      ? Prisma.sql`CASE WHEN e.delivered_at IS NULL AND NOT EXISTS (
            SELECT 1 FROM webhook_events p
            WHERE p.review_id = e.review_id AND p.delivered_at IS NULL AND (p.occurred_at, p.id) < (e.occurred_at, e.id))
          THEN (SELECT j.run_at FROM graphile_worker.jobs j
                WHERE j.key = ${DELIVERY_JOB_KEY_PREFIX} || e.review_id::text AND j.attempts < j.max_attempts)
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
