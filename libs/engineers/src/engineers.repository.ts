import { Injectable } from '@nestjs/common';

import { type EngineerStatus, expectOne, Prisma, PrismaService, type Tx } from '@app/database';

import { ENGINEER_COLUMNS, type EngineerRow } from './engineer.view.js';

type Db = Tx | PrismaService;

const COLUMNS = ENGINEER_COLUMNS.select;

export interface EngineerFilter {
  status?: EngineerStatus;
  available?: boolean;
  expertise?: string;
  includeDeleted: boolean;
}

export interface NewEngineer {
  name: string;
  email: string;
  expertise: string[];
  maxConcurrentReviews: number;
  status: EngineerStatus;
}

export interface EngineerChanges {
  name?: string;
  expertise?: string[];
  maxConcurrentReviews?: number;
  status?: EngineerStatus;
}

export interface Candidate {
  engineer: EngineerRow;
  loadRatio: number;
  /** All eligible engineers, including ones locked by concurrent assignments. */
  candidates: number;
}

/** The only code that reads or writes the engineers table; other modules call it with their transaction. */
@Injectable()
export class EngineersRepository {
  constructor(private readonly prisma: PrismaService) {}

  async insert(tx: Db, engineer: NewEngineer): Promise<EngineerRow> {
    const rows = await ENGINEER_COLUMNS.query(
      tx,
      Prisma.sql`INSERT INTO engineers AS e (id, name, email, expertise, status, max_concurrent_reviews)
      VALUES (gen_random_uuid(), ${engineer.name}, ${engineer.email}, ${engineer.expertise}::text[], ${engineer.status}::engineer_status, ${engineer.maxConcurrentReviews})
      RETURNING ${COLUMNS}`,
    );
    return expectOne(rows, `the engineer inserted as ${engineer.email}`);
  }

  async findById(id: string, db: Db = this.prisma): Promise<EngineerRow | undefined> {
    const [row] = await ENGINEER_COLUMNS.query(db, Prisma.sql`SELECT ${COLUMNS} FROM engineers e WHERE e.id = ${id}::uuid`);
    return row;
  }

  /** The id when it names an engineer that exists and is not deleted (an engineer-role caller's identity), else null. */
  async current(id: string | null, db: Db = this.prisma): Promise<string | null> {
    if (id === null) return null;
    const [row] = await db.$queryRaw<{ id: string }[]>`SELECT id::text AS id FROM engineers WHERE id = ${id}::uuid AND deleted_at IS NULL`;
    return row?.id ?? null;
  }

  /** `current` as a step of a combined statement: one row when the engineer exists and is not deleted, none otherwise (read its count). */
  currentStep(id: string | null): Prisma.Sql {
    return Prisma.sql`SELECT id FROM engineers WHERE id = ${id}::uuid AND deleted_at IS NULL`;
  }

  /** Row lock: concurrent assignments, capacity changes and deletes of one engineer take turns. */
  async lockById(tx: Tx, id: string): Promise<EngineerRow | undefined> {
    const [row] = await ENGINEER_COLUMNS.query(tx, Prisma.sql`SELECT ${COLUMNS} FROM engineers e WHERE e.id = ${id}::uuid FOR UPDATE`);
    return row;
  }

  async update(tx: Tx, id: string, changes: EngineerChanges): Promise<EngineerRow> {
    const sets: Prisma.Sql[] = [Prisma.sql`updated_at = now()`];
    if (changes.name !== undefined) sets.push(Prisma.sql`name = ${changes.name}`);
    if (changes.expertise !== undefined) sets.push(Prisma.sql`expertise = ${changes.expertise}::text[]`);
    if (changes.maxConcurrentReviews !== undefined) sets.push(Prisma.sql`max_concurrent_reviews = ${changes.maxConcurrentReviews}`);
    if (changes.status !== undefined) sets.push(Prisma.sql`status = ${changes.status}::engineer_status`);
    const rows = await ENGINEER_COLUMNS.query(
      tx,
      Prisma.sql`UPDATE engineers AS e SET ${Prisma.join(sets, ', ')} WHERE e.id = ${id}::uuid RETURNING ${COLUMNS}`,
    );
    return expectOne(rows, `engineer ${id} after its update (the caller holds its lock)`);
  }

  async softDelete(tx: Tx, id: string): Promise<EngineerRow> {
    const rows = await ENGINEER_COLUMNS.query(
      tx,
      Prisma.sql`UPDATE engineers AS e SET deleted_at = now(), status = 'offline', updated_at = now()
      WHERE e.id = ${id}::uuid RETURNING ${COLUMNS}`,
    );
    return expectOne(rows, `engineer ${id} after its deletion (the caller holds its lock)`);
  }

  /** Counter +1 for a new open review; the CHECK constraint refuses to pass capacity. */
  /**
   * Locks the engineer and reads its row once `after` holds: a step of a combined statement
   * (runSteps) whose `after` reads the step that must be locked first, e.g. `EXISTS (SELECT FROM incident)`.
   */
  lockStep(id: string, after: Prisma.Sql): Prisma.Sql {
    return Prisma.sql`SELECT ${COLUMNS} FROM engineers e WHERE e.id = ${id}::uuid AND ${after} FOR UPDATE`;
  }

  /**
   * The open-review counter up (an assignment) or down (a finalised review) as a step; a missing
   * engineer touches no row, which the caller must treat as an integrity failure. No GREATEST(0, …)
   * going down: a negative result violates the CHECK constraint and rolls the whole change back.
   */
  counterStep(id: string, change: 'assigned' | 'released'): Prisma.Sql {
    return change === 'assigned'
      ? Prisma.sql`UPDATE engineers AS e SET current_review_count = current_review_count + 1, last_assigned_at = now(), updated_at = now()
          WHERE e.id = ${id}::uuid RETURNING e.id`
      : Prisma.sql`UPDATE engineers AS e SET current_review_count = current_review_count - 1, updated_at = now() WHERE e.id = ${id}::uuid RETURNING e.id`;
  }

  async setCounter(tx: Tx, id: string, count: number): Promise<EngineerRow> {
    const rows = await ENGINEER_COLUMNS.query(
      tx,
      Prisma.sql`UPDATE engineers AS e SET current_review_count = ${count}, updated_at = now() WHERE e.id = ${id}::uuid RETURNING ${COLUMNS}`,
    );
    return expectOne(rows, `engineer ${id} after its counter was set (the caller holds its lock)`);
  }

  async countMatching(filter: EngineerFilter): Promise<number> {
    const [row] = await this.prisma.$queryRaw<
      { total: number }[]
    >`SELECT count(*)::int AS total FROM engineers e WHERE ${this.where(filter)}`;
    return row?.total ?? 0;
  }

  async listMatching(filter: EngineerFilter, offset: number, limit: number): Promise<EngineerRow[]> {
    return ENGINEER_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${COLUMNS} FROM engineers e WHERE ${this.where(filter)} ORDER BY e.created_at, e.id OFFSET ${offset} LIMIT ${limit}`,
    );
  }

  private where(filter: EngineerFilter): Prisma.Sql {
    const conditions: Prisma.Sql[] = [];
    if (!filter.includeDeleted) conditions.push(Prisma.sql`e.deleted_at IS NULL`);
    if (filter.status) conditions.push(Prisma.sql`e.status = ${filter.status}::engineer_status`);
    if (filter.available !== undefined) conditions.push(Prisma.sql`e.is_available = ${filter.available}`);
    if (filter.expertise) conditions.push(Prisma.sql`e.expertise @> ARRAY[${filter.expertise}]::text[]`);
    return conditions.length ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`;
  }

  /** Ranking in SQL over the GIN and partial ranking indexes, never in memory. */
  async available(expertise: string[], limit: number, excludeId?: string, db: Db = this.prisma): Promise<EngineerRow[]> {
    return ENGINEER_COLUMNS.query(
      db,
      Prisma.sql`SELECT ${COLUMNS} FROM engineers e
      WHERE e.is_available AND e.expertise @> ${expertise}::text[] ${excludeId ? Prisma.sql`AND e.id <> ${excludeId}::uuid` : Prisma.empty}
      ORDER BY (e.current_review_count::float8 / e.max_concurrent_reviews), e.last_assigned_at NULLS FIRST, e.id
      LIMIT ${limit}`,
    );
  }

  /**
   * Picks and locks the best eligible engineer. With `skipLocked`, concurrent auto-assigns spread over
   * the pool instead of queueing on one row; without it the caller waits for the best engineer, and
   * PostgreSQL re-checks the WHERE clause once the lock is granted, so a full engineer is never returned.
   */
  async claimBestCandidate(
    tx: Tx,
    expertise: string[],
    excludeId?: string,
    options: { skipLocked: boolean } = { skipLocked: true },
  ): Promise<Candidate | undefined> {
    const exclude = excludeId ? Prisma.sql`AND e.id <> ${excludeId}::uuid` : Prisma.empty;
    const lockMode = options.skipLocked ? Prisma.sql`FOR UPDATE SKIP LOCKED` : Prisma.sql`FOR UPDATE`;
    const [row] = await ENGINEER_COLUMNS.queryWith<{ loadRatio: number; candidates: number }>(
      tx,
      Prisma.sql`WITH chosen AS (
        SELECT e.id FROM engineers e
        WHERE e.is_available AND e.expertise @> ${expertise}::text[] ${exclude}
        ORDER BY (e.current_review_count::float8 / e.max_concurrent_reviews), e.last_assigned_at NULLS FIRST, e.id
        LIMIT 1 ${lockMode}
      )
      SELECT ${COLUMNS}, (e.current_review_count::float8 / e.max_concurrent_reviews) AS "loadRatio",
        (SELECT count(*)::int FROM engineers e WHERE e.is_available AND e.expertise @> ${expertise}::text[] ${exclude}) AS candidates
      FROM engineers e JOIN chosen ON chosen.id = e.id`,
    );
    if (!row) return undefined;
    const { loadRatio, candidates, ...engineer } = row;
    return { engineer, loadRatio, candidates };
  }
}
