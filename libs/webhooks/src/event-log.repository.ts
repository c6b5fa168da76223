import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';

import { col, columns, MissingRowError, Prisma, PrismaService, type RowOf, type StatementStep, type Tx } from '@app/database';

import type { ReviewEvent } from './webhook-event.js';

/** Writers hold it shared from before their events draw a seq until they commit; the sequencer takes it exclusively. */
const EVENT_GATE_LOCK_KEY = 0xe7e1;
/** Only one sequencer across replicas numbers events at a time. */
const EVENT_SEQUENCER_LOCK_KEY = 0xe7e2;
export const EVENTS_SEQUENCED_CHANNEL = 'review_events_sequenced';

export type LoggedEvent = ReviewEvent & { id: string; occurredAt: Date };

/** EventLogRepository.purgeOlderThan's statement; exported for the test that checks its plan. $1 cutoff, $2 limit. */
export const PURGE_EVENTS_SQL = `DELETE FROM review_events
   -- An array, not a join or IN, which the planner may turn into a hash join that reads the whole log.
   WHERE id = ANY(ARRAY(
     SELECT id FROM review_events
     WHERE occurred_at < $1::timestamptz AND position < (SELECT max(position) FROM review_events)
     ORDER BY occurred_at LIMIT $2::int))`;

const STREAMED_COLUMNS = columns('review_events', 'e', {
  id: col.uuid('id'),
  type: col.text('type'),
  occurredAt: col.timestamptz('occurred_at'),
  payload: col.jsonb('payload'),
  position: col.bigint('position').nullable(),
});

/** A sequenced event: its position is set. */
export type StreamedEvent = Omit<RowOf<typeof STREAMED_COLUMNS>, 'position'> & { position: bigint };

export interface StreamFilter {
  types?: string[];
  incidentId?: string;
  /** Only events of this engineer's reviews. */
  engineerId?: string;
}

/** review_events: the log of every review event, read by GET /api/v1/events (docs/architecture.md, "Event stream"). */
@Injectable()
export class EventLogRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records the events in the caller's transaction, as steps of its combined statement (runSteps):
   * per review, the insert (`events_<n>`) and, when given, `copy` of what it recorded
   * (`outbox_<n>`), which reads the step named by its argument as `(id, type, review_id,
   * occurred_at, payload)`. Events of one review get strictly increasing times, at least 1 ms apart
   * (writers of a review hold its row lock). The gate is taken, in shared mode, before the rows draw
   * their seq (the sort reads every row of the SELECT, the gate included, before the first insert),
   * so the sequencer's watermark covers them.
   */
  appendSteps(events: ReviewEvent[], copy?: (logged: string) => Prisma.Sql): StatementStep[] {
    return [...new Set(events.map((event) => event.review.id))].flatMap((reviewId, index) => {
      const own = events.filter((event) => event.review.id === reviewId);
      const { incidentId, engineerId } = own[0]!.review;
      const values = own.map(
        (event, ord) => Prisma.sql`(${ord}::int, ${randomUUID()}::uuid, ${event.type}::text, ${JSON.stringify(event.review)}::jsonb)`,
      );
      const logged = `events_${index}`;
      const steps: StatementStep[] = [
        {
          name: logged,
          sql: Prisma.sql`
            INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
            SELECT v.id, v.type, ${reviewId}::uuid, ${incidentId}::uuid, ${engineerId}::uuid,
                   GREATEST(clock_timestamp(), previous.at + interval '1 millisecond') + v.ord * interval '1 millisecond', v.payload
            FROM (SELECT pg_advisory_xact_lock_shared(${EVENT_GATE_LOCK_KEY}::bigint)) AS gate,
                 (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = ${reviewId}::uuid) AS previous,
                 (VALUES ${Prisma.join(values)}) AS v(ord, id, type, payload)
            ORDER BY v.ord
            RETURNING id, type, review_id, occurred_at, payload`,
          read: 'nothing',
        },
      ];
      if (copy) steps.push({ name: `outbox_${index}`, sql: copy(logged), read: 'nothing' });
      return steps;
    });
  }

  /** Committed events without a position (a hint, read without any lock). */
  async hasUnsequenced(): Promise<boolean> {
    const [row] = await this.prisma.$queryRaw<
      { pending: boolean }[]
    >`SELECT EXISTS (SELECT 1 FROM review_events WHERE position IS NULL) AS pending`;
    return row?.pending ?? false;
  }

  /**
   * Waits, at most `lockTimeoutMs`, until no transaction holds the gate, keeps new writers out until
   * `tx` ends, and reads the highest seq handed out: every seq up to it is final (committed or never
   * will be). Past the timeout PostgreSQL raises lock_not_available (55P03). Undefined, at once, while
   * another sequencer holds the sequencer lock: writers queue behind a waiting gate request, so only
   * the replica that will sequence makes them wait.
   */
  async watermark(tx: Tx, lockTimeoutMs: number): Promise<bigint | undefined> {
    if (!(await this.tryLockSequencer(tx))) return undefined;
    await tx.$executeRaw`SELECT set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${EVENT_GATE_LOCK_KEY}::bigint)`;
    const [row] = await tx.$queryRaw<{ last: bigint | null }[]>`
      SELECT pg_sequence_last_value(pg_get_serial_sequence('review_events', 'seq')::regclass) AS last`;
    return row?.last ?? 0n;
  }

  /**
   * Gives the next positions, in seq order, to at most `limit` events with seq ≤ watermark and
   * notifies the streams of every replica at commit. Undefined when another sequencer holds the lock.
   */
  async sequence(tx: Tx, watermark: bigint, limit: number): Promise<number | undefined> {
    if (!(await this.tryLockSequencer(tx))) return undefined;
    const [row] = await tx.$queryRaw<{ count: number; last: bigint | null }[]>`
      WITH base AS (SELECT coalesce(max(position), 0) AS at FROM review_events),
      picked AS (
        SELECT id, row_number() OVER (ORDER BY seq) AS n
        FROM (SELECT id, seq FROM review_events WHERE position IS NULL AND seq <= ${watermark} ORDER BY seq LIMIT ${limit}) s
      ),
      numbered AS (
        UPDATE review_events e SET position = base.at + picked.n FROM base, picked WHERE e.id = picked.id RETURNING e.position
      )
      SELECT count(*)::int AS count, max(position) AS last FROM numbered`;
    if (row?.last) await tx.$executeRaw`SELECT pg_notify(${EVENTS_SEQUENCED_CHANNEL}, ${row.last.toString()})`;
    return row?.count ?? 0;
  }

  /** Takes the sequencer lock until `tx` ends, unless another sequencer holds it; never waits. */
  private async tryLockSequencer(tx: Tx): Promise<boolean> {
    const [row] = await tx.$queryRaw<
      { locked: boolean }[]
    >`SELECT pg_try_advisory_xact_lock(${EVENT_SEQUENCER_LOCK_KEY}::bigint) AS locked`;
    return row?.locked ?? false;
  }

  /** The position of a retained, sequenced event; undefined when unknown or purged. */
  async positionOf(id: string, filter: StreamFilter): Promise<bigint | undefined> {
    const [row] = await this.prisma.$queryRaw<{ position: bigint }[]>`
      SELECT position FROM review_events
      WHERE id = ${id}::uuid AND position IS NOT NULL ${filter.engineerId ? Prisma.sql`AND engineer_id = ${filter.engineerId}::uuid` : Prisma.empty}`;
    return row?.position;
  }

  async lastPosition(): Promise<bigint> {
    const [row] = await this.prisma.$queryRaw<{ last: bigint | null }[]>`SELECT max(position) AS last FROM review_events`;
    return row?.last ?? 0n;
  }

  /** Matching events after the position, in position order. */
  async after(position: bigint, filter: StreamFilter, limit: number): Promise<StreamedEvent[]> {
    const conditions = [Prisma.sql`e.position > ${position}`];
    if (filter.types) conditions.push(Prisma.sql`e.type = ANY(${filter.types}::text[])`);
    if (filter.incidentId) conditions.push(Prisma.sql`e.incident_id = ${filter.incidentId}::uuid`);
    if (filter.engineerId) conditions.push(Prisma.sql`e.engineer_id = ${filter.engineerId}::uuid`);
    const rows = await STREAMED_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${STREAMED_COLUMNS.select} FROM review_events e WHERE ${Prisma.join(conditions, ' AND ')} ORDER BY e.position LIMIT ${limit}`,
    );
    return rows.map(({ position, ...event }) => {
      // position > cursor holds for no NULL position.
      if (position === null) throw new MissingRowError(`Event ${event.id} was read past a position but has none`);
      return { ...event, position };
    });
  }

  /**
   * Deletes at most `limit` sequenced events older than the cutoff. The event with the highest
   * position is always kept, so that positions never restart below a live stream's cursor.
   */
  async purgeOlderThan(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRawUnsafe(PURGE_EVENTS_SQL, cutoff, limit);
  }
}
