import { Injectable } from '@nestjs/common';

import {
  type AssignmentStrategy,
  col,
  columns,
  Prisma,
  PrismaService,
  type ReviewPriority,
  type ReviewStatus,
  type RowOf,
  type Tx,
} from '@app/database';

import { type DecisionValue } from './decision.repository.js';
import { REVIEW_COLUMNS, type ReviewRow } from './review.view.js';
import { statusAfterDecision } from './review-state-machine.js';

type Db = Tx | PrismaService;

const COLUMNS = REVIEW_COLUMNS.select;

/** A review's place in a claim order, and its incident (for callers that lock the incident first). */
const DUE_COLUMNS = columns('reviews', 'r', {
  id: col.uuid('id'),
  incidentId: col.uuid('incident_id'),
  expectedCompletionAt: col.timestamptz('expected_completion_at'),
});

const DECISION_WAIT_COLUMNS = columns('reviews', 'r', {
  id: col.uuid('id'),
  incidentId: col.uuid('incident_id'),
  // Not null on the rows read: only submitted reviews.
  submittedAt: col.timestamptz('submitted_at').nullable(),
});

const DRIFT_COLUMNS = columns('engineers', 'e', { engineerId: col.uuid('id'), counter: col.integer('current_review_count') });

export interface WorkloadDrift {
  engineerId: string;
  counter: number;
  actual: number;
}

/**
 * Every engineer (deleted ones included) with its counter and its open reviews counted in the reviews
 * table: the one definition of workload drift, behind GET /admin/workload/drift, reconcile, the
 * workload_drift_engineers gauge and the tests' invariant check (WORKLOAD_DRIFT_SQL).
 */
const WORKLOAD_SQL = Prisma.sql`
  SELECT ${DRIFT_COLUMNS.select}, coalesce(o.open, 0)::int AS actual
  FROM engineers e
  LEFT JOIN (SELECT engineer_id, count(*) AS open FROM reviews WHERE status IN ('assigned', 'in_progress', 'submitted') GROUP BY engineer_id) o
    ON o.engineer_id = e.id
  ORDER BY e.id`;

/** The workload query as plain SQL (it has no parameters), for callers outside Prisma. */
export const WORKLOAD_DRIFT_SQL = WORKLOAD_SQL.sql;

const MOVABLE_COLUMNS = columns('reviews', 'r', { id: col.uuid('id'), incidentId: col.uuid('incident_id') });

export interface NewReview {
  id: string;
  incidentId: string;
  engineerId: string;
  priority: ReviewPriority;
  expectedCompletionAt: Date;
  strategy: AssignmentStrategy;
  assignedBy: string;
  candidates: number | null;
  loadRatio: number | null;
  reassignedFromId: string | null;
}

export interface ReviewFilter {
  statuses?: ReviewStatus[];
  priority?: ReviewPriority;
  engineerId?: string;
  incidentId?: string;
  overdue?: boolean;
  /** Ownership: only this engineer's reviews. */
  ownerId?: string;
}

/** The only code that reads or writes the reviews table; SLA and other modules pass their transaction in. */
@Injectable()
export class ReviewsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The partial unique index reviews_one_open_per_incident is the last word on "one open review". */
  /** Inserts the open review and reads it back: a step of a combined statement (runSteps). */
  insertStep(review: NewReview): Prisma.Sql {
    return Prisma.sql`
      INSERT INTO reviews AS r (id, incident_id, engineer_id, status, priority, assigned_at, expected_completion_at,
        assignment_strategy, assigned_by, assignment_candidates, assignment_load_ratio, reassigned_from_id)
      VALUES (${review.id}::uuid, ${review.incidentId}::uuid, ${review.engineerId}::uuid, 'assigned', ${review.priority}::review_priority,
        now(), ${review.expectedCompletionAt}::timestamptz, ${review.strategy}::assignment_strategy, ${review.assignedBy},
        ${review.candidates}, ${review.loadRatio}, ${review.reassignedFromId}::uuid)
      RETURNING ${COLUMNS}`;
  }

  /** Locks the review and reads it once `after` holds (it reads the step locked first): a step. */
  lockStep(id: string, after: Prisma.Sql): Prisma.Sql {
    return Prisma.sql`SELECT ${COLUMNS} FROM reviews r WHERE r.id = ${id}::uuid AND ${after} FOR UPDATE`;
  }

  /**
   * Locks the incident's review that is still open or submitted (at most one, by the unique partial
   * index reviews_one_open_per_incident, which serves the lookup) and reads it once `after` holds: a
   * step. The condition takes in every status before a decision on purpose: a row that changed while
   * the statement waited for `after` is read again at its newest version only if that version still
   * meets the condition, so a review submitted during the wait is found as submitted (the caller
   * checks the status).
   */
  lockOpenStep(incidentId: string, after: Prisma.Sql): Prisma.Sql {
    return Prisma.sql`SELECT ${COLUMNS} FROM reviews r WHERE r.incident_id = ${incidentId}::uuid
      AND r.status IN ('assigned', 'in_progress', 'submitted') AND ${after} FOR UPDATE`;
  }

  /** A row when one of the incident's reviews carries a decision already, none otherwise: a step (read its count). */
  decidedStep(incidentId: string): Prisma.Sql {
    return Prisma.sql`SELECT 1 FROM reviews WHERE incident_id = ${incidentId}::uuid AND decision <> 'pending' LIMIT 1`;
  }

  /** The incident of review `id`, as an SQL expression (a review never changes incident). */
  incidentOf(id: string): Prisma.Sql {
    return Prisma.sql`(SELECT incident_id FROM reviews WHERE id = ${id}::uuid)`;
  }

  /** Starts the review and reads it back: a step; the caller holds its lock. */
  startStep(id: string): Prisma.Sql {
    return this.updateStep(id, Prisma.sql`status = 'in_progress', started_at = now()`);
  }

  /** Submits the review and reads it back: a step; the caller holds its lock. A submit straight from `assigned` back-fills startedAt with assignedAt. */
  submitStep(id: string, work: { approach: string; analysis: string | null; confidence: number | null }): Prisma.Sql {
    return this.updateStep(
      id,
      Prisma.sql`status = 'submitted', submitted_at = now(), started_at = coalesce(started_at, assigned_at),
        approach = ${work.approach}, analysis = ${work.analysis}, confidence = ${work.confidence}`,
    );
  }

  /** Records the decision on the review and reads it back: a step; the caller holds its lock. */
  decideStep(id: string, decision: { approach: DecisionValue; rationale: string; decidedBy: string }): Prisma.Sql {
    return this.updateStep(
      id,
      Prisma.sql`status = ${statusAfterDecision(decision.approach)}::review_status, decision = ${decision.approach}::review_decision,
        decision_made_at = now(), decision_rationale = ${decision.rationale}, decided_by = ${decision.decidedBy}`,
    );
  }

  /** Cancels the review and reads it back: a step; the caller holds its lock. */
  cancelStep(id: string, reason: string): Prisma.Sql {
    return Prisma.sql`UPDATE reviews AS r SET status = 'cancelled', cancelled_at = now(), cancellation_reason = ${reason}, updated_at = now()
      WHERE r.id = ${id}::uuid RETURNING ${COLUMNS}`;
  }

  async findById(id: string, db: Db = this.prisma): Promise<ReviewRow | undefined> {
    const [row] = await REVIEW_COLUMNS.query(db, Prisma.sql`SELECT ${COLUMNS} FROM reviews r WHERE r.id = ${id}::uuid`);
    return row;
  }

  async lockById(tx: Tx, id: string): Promise<ReviewRow | undefined> {
    const [row] = await REVIEW_COLUMNS.query(tx, Prisma.sql`SELECT ${COLUMNS} FROM reviews r WHERE r.id = ${id}::uuid FOR UPDATE`);
    return row;
  }

  private updateStep(id: string, assignments: Prisma.Sql): Prisma.Sql {
    return Prisma.sql`UPDATE reviews AS r SET ${assignments}, updated_at = now() WHERE r.id = ${id}::uuid RETURNING ${COLUMNS}`;
  }

  async forIncident(incidentId: string, ownerId?: string, db: Db = this.prisma): Promise<ReviewRow[]> {
    return REVIEW_COLUMNS.query(
      db,
      Prisma.sql`SELECT ${COLUMNS} FROM reviews r WHERE r.incident_id = ${incidentId}::uuid
        ${ownerId ? Prisma.sql`AND r.engineer_id = ${ownerId}::uuid` : Prisma.empty}
      ORDER BY r.assigned_at DESC, r.id DESC`,
    );
  }

  /** Ownership in one query: has this engineer ever held a review of the incident? */
  async engineerHeldIncident(engineerId: string, incidentId: string): Promise<boolean> {
    const [row] = await this.prisma.$queryRaw<{ held: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM reviews WHERE incident_id = ${incidentId}::uuid AND engineer_id = ${engineerId}::uuid) AS held`;
    return row?.held ?? false;
  }

  /** Movable reviews of an engineer, oldest first, for drain. */
  async movableForEngineer(tx: Tx, engineerId: string): Promise<RowOf<typeof MOVABLE_COLUMNS>[]> {
    return MOVABLE_COLUMNS.query(
      tx,
      Prisma.sql`SELECT ${MOVABLE_COLUMNS.select} FROM reviews r
      WHERE r.engineer_id = ${engineerId}::uuid AND r.status IN ('assigned', 'in_progress')
      ORDER BY r.assigned_at, r.id`,
    );
  }

  async countMatching(filter: ReviewFilter): Promise<number> {
    const [row] = await this.prisma.$queryRaw<
      { total: number }[]
    >`SELECT count(*)::int AS total FROM reviews r WHERE ${this.where(filter)}`;
    return row?.total ?? 0;
  }

  async listMatching(filter: ReviewFilter, offset: number, limit: number): Promise<ReviewRow[]> {
    return REVIEW_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${COLUMNS} FROM reviews r WHERE ${this.where(filter)} ORDER BY r.assigned_at DESC, r.id DESC OFFSET ${offset} LIMIT ${limit}`,
    );
  }

  private where(filter: ReviewFilter): Prisma.Sql {
    const conditions: Prisma.Sql[] = [];
    if (filter.ownerId) conditions.push(Prisma.sql`r.engineer_id = ${filter.ownerId}::uuid`);
    if (filter.statuses?.length) conditions.push(Prisma.sql`r.status = ANY(${filter.statuses}::review_status[])`);
    if (filter.priority) conditions.push(Prisma.sql`r.priority = ${filter.priority}::review_priority`);
    if (filter.engineerId) conditions.push(Prisma.sql`r.engineer_id = ${filter.engineerId}::uuid`);
    if (filter.incidentId) conditions.push(Prisma.sql`r.incident_id = ${filter.incidentId}::uuid`);
    // Same expression as the partial index reviews_open_deadline_idx, so ?overdue=true is an index scan.
    if (filter.overdue === true)
      conditions.push(Prisma.sql`(r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now())`);
    if (filter.overdue === false)
      conditions.push(Prisma.sql`NOT (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now())`);
    return conditions.length ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`;
  }

  /** Workload integrity: each engineer's counter against the open reviews it should count, in one query. */
  async workloadDrift(db: Db = this.prisma): Promise<{ checked: number; drifted: WorkloadDrift[] }> {
    const rows = await DRIFT_COLUMNS.queryWith<{ actual: number }>(db, WORKLOAD_SQL);
    return { checked: rows.length, drifted: rows.filter((row) => row.counter !== row.actual) };
  }

  /** How many engineers have drifted (the gauge), from the same query. */
  async countDrifted(db: Db = this.prisma): Promise<number> {
    const [row] = await db.$queryRaw<{ drifted: number }[]>`
      SELECT count(*)::int AS drifted FROM (${WORKLOAD_SQL}) w WHERE w.counter <> w.actual`;
    return row?.drifted ?? 0;
  }

  /** Open reviews (assigned, in_progress, submitted) of one engineer, as recorded in the reviews table itself. */
  async countOpenForEngineer(tx: Tx, engineerId: string): Promise<number> {
    const [row] = await tx.$queryRaw<{ open: number }[]>`
      SELECT count(*)::int AS open FROM reviews r
      WHERE r.engineer_id = ${engineerId}::uuid AND r.status IN ('assigned', 'in_progress', 'submitted')`;
    return row?.open ?? 0;
  }

  /**
   * SLA escalation: locks up to `limit` reviews due for the step after `due.fromLevel`, earliest
   * deadline first, after the keyset position `due.after`. Rows locked by another replica (or by a
   * change in flight) are skipped, not waited for, so replicas share the work instead of queueing.
   */
  async claimDueForEscalation(tx: Tx, due: EscalationDue, limit: number): Promise<ReviewRow[]> {
    return REVIEW_COLUMNS.query(tx, claimDueForEscalationSql(due, limit));
  }

  /** The same reviews as claimDueForEscalation, unlocked: for callers that must lock the incident before the review. */
  async listDueForEscalation(due: EscalationDue, limit: number): Promise<DueReview[]> {
    return DUE_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${DUE_COLUMNS.select} FROM reviews r WHERE ${escalationDuePredicate(due)}
      ORDER BY r.expected_completion_at, r.id LIMIT ${limit}`,
    );
  }

  /**
   * Raises the listed reviews from `fromLevel` to the next level. The WHERE clause is the
   * exactly-once guard: a review that is no longer open, or no longer at `fromLevel`, is left alone
   * and not returned, however many replicas try at once.
   */
  async escalateFromLevel(tx: Tx, ids: string[], fromLevel: 0 | 1): Promise<ReviewRow[]> {
    if (ids.length === 0) return [];
    return REVIEW_COLUMNS.query(
      tx,
      Prisma.sql`UPDATE reviews AS r SET escalation_level = ${fromLevel + 1}, last_escalated_at = now(), updated_at = now()
      WHERE r.id = ANY(${ids}::uuid[]) AND r.escalation_level = ${fromLevel} AND r.status IN ('assigned', 'in_progress')
      RETURNING ${COLUMNS}`,
    );
  }

  /** Locks up to `limit` submitted reviews waiting for a decision longer than `waitSeconds`, oldest first, skipping locked rows. */
  async claimDecisionOverdue(tx: Tx, waitSeconds: number, after: ReviewCursor | null, limit: number): Promise<ReviewRow[]> {
    return REVIEW_COLUMNS.query(tx, claimDecisionOverdueSql(waitSeconds, after, limit));
  }

  /** Submitted reviews already marked decision-overdue, in (submitted_at, id) order after the cursor. */
  async listPastDecisionDeadline(after: ReviewCursor | null, limit: number): Promise<RowOf<typeof DECISION_WAIT_COLUMNS>[]> {
    const position = after ? Prisma.sql`AND (r.submitted_at, r.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : Prisma.empty;
    return DECISION_WAIT_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${DECISION_WAIT_COLUMNS.select} FROM reviews r
      WHERE r.status = 'submitted' AND r.decision_overdue_at IS NOT NULL ${position}
      ORDER BY r.submitted_at, r.id LIMIT ${limit}`,
    );
  }

  /** Sets decision_overdue_at once: rows already marked, or no longer submitted, are left alone and not returned. */
  async markDecisionOverdueOnce(tx: Tx, ids: string[]): Promise<ReviewRow[]> {
    if (ids.length === 0) return [];
    return REVIEW_COLUMNS.query(
      tx,
      Prisma.sql`UPDATE reviews AS r SET decision_overdue_at = now(), updated_at = now()
      WHERE r.id = ANY(${ids}::uuid[]) AND r.status = 'submitted' AND r.decision_overdue_at IS NULL
      RETURNING ${COLUMNS}`,
    );
  }
}

/** A keyset position in a claim's order: (expected_completion_at or submitted_at, id). */
export interface ReviewCursor {
  at: Date;
  id: string;
}

export interface EscalationDue {
  /** 0: due for level 1 (overdue); 1: due for level 2. */
  fromLevel: 0 | 1;
  /** Seconds past the deadline before a review of each priority is due (all 0 for level 1). */
  graceSeconds: Record<ReviewPriority, number>;
  after: ReviewCursor | null;
}

export type DueReview = RowOf<typeof DUE_COLUMNS>;

/**
 * Literal status and level conditions (never parameters), so that the planner can prove they imply
 * the predicate of the partial index reviews_escalation_due_idx (escalation_level, expected_completion_at,
 * id) and walk it in claim order. The smallest grace bounds the index range; a per-priority grace, when
 * the priorities differ, filters within it.
 */
function escalationDuePredicate(due: EscalationDue): Prisma.Sql {
  const grace = due.graceSeconds;
  const smallest = Math.min(grace.critical, grace.high, grace.normal, grace.low);
  const level = due.fromLevel === 0 ? Prisma.sql`r.escalation_level = 0` : Prisma.sql`r.escalation_level = 1`;
  const perPriority = [grace.high, grace.normal, grace.low].every((seconds) => seconds === grace.critical)
    ? Prisma.empty
    : Prisma.sql`AND r.expected_completion_at < now() - make_interval(secs => CASE r.priority
        WHEN 'critical' THEN ${grace.critical}::float8 WHEN 'high' THEN ${grace.high}::float8
        WHEN 'normal' THEN ${grace.normal}::float8 ELSE ${grace.low}::float8 END)`;
  const after = due.after
    ? Prisma.sql`AND (r.expected_completion_at, r.id) > (${due.after.at}::timestamptz, ${due.after.id}::uuid)`
    : Prisma.empty;
  return Prisma.sql`r.status IN ('assigned', 'in_progress') AND r.escalation_level < 2 AND ${level}
    AND r.expected_completion_at < now() - make_interval(secs => ${smallest}::float8) ${perPriority} ${after}`;
}

/** Exported so that the escalation benchmark and tests can EXPLAIN the exact statement. */
export function claimDueForEscalationSql(due: EscalationDue, limit: number): Prisma.Sql {
  return Prisma.sql`SELECT ${COLUMNS} FROM reviews r WHERE ${escalationDuePredicate(due)}
    ORDER BY r.expected_completion_at, r.id LIMIT ${limit} FOR UPDATE OF r SKIP LOCKED`;
}

/** Matches the predicate of the partial index reviews_decision_wait_idx (submitted_at, id) literally. */
export function claimDecisionOverdueSql(waitSeconds: number, after: ReviewCursor | null, limit: number): Prisma.Sql {
  const position = after ? Prisma.sql`AND (r.submitted_at, r.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : Prisma.empty;
  return Prisma.sql`SELECT ${COLUMNS} FROM reviews r
    WHERE r.status = 'submitted' AND r.decision_overdue_at IS NULL AND r.submitted_at < now() - make_interval(secs => ${waitSeconds}::float8) ${position}
    ORDER BY r.submitted_at, r.id LIMIT ${limit} FOR UPDATE OF r SKIP LOCKED`;
}
