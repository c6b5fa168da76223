import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';

import { type AuditActor, type AuditRecord, AuditService } from '@app/audit';
import { ConflictError, IntegrityError, NotFoundError } from '@app/common';
import {
  AssignmentStrategy,
  IncidentStatus,
  Prisma,
  ReviewDecision,
  type ReviewPriority,
  ReviewStatus,
  runSteps,
  transactionTime,
  type Tx,
} from '@app/database';
import { type Candidate, EngineerAtCapacityError, type EngineerRow, EngineersRepository } from '@app/engineers';
import { CLOSED_INCIDENT_STATUSES, INCIDENT_COLUMNS, type IncidentRow, IncidentsRepository, toIncidentView } from '@app/incidents';
import type { ReviewMetrics } from '@app/observability';
import { OutboxService } from '@app/webhooks';

import { EngineerUnavailableError, IncidentClosedError, IncidentHasOpenReviewError } from './review.errors.js';
import { REVIEW_COLUMNS, type ReviewRow, type ReviewView, toReviewView } from './review.view.js';
import { ReviewDeadlines } from './review-deadlines.js';
import { type NewReview, ReviewsRepository } from './reviews.repository.js';

/** How the engineer was chosen, as the review records it (`assignment` in the API). */
export interface AssignmentChoice {
  strategy: AssignmentStrategy;
  candidates: number | null;
  loadRatio: number | null;
}

export const MANUAL: AssignmentChoice = { strategy: AssignmentStrategy.manual, candidates: null, loadRatio: null };
export const REASSIGN: AssignmentChoice = { strategy: AssignmentStrategy.reassign, candidates: null, loadRatio: null };

export function automatic(strategy: AssignmentStrategy, candidate: Candidate): AssignmentChoice {
  return { strategy, candidates: candidate.candidates, loadRatio: candidate.loadRatio };
}

export interface Move {
  review: ReviewRow;
  incident: IncidentRow;
  to: EngineerRow;
  reason: string;
  choice: AssignmentChoice;
}

/**
 * The writes shared by every way a review reaches an engineer (assign, auto-assign, reassign, drain,
 * level-2 escalation): open a review, or move one (cancel it and open its successor), with counter,
 * incident, audit and outbox in the caller's transaction. The caller has taken the locks
 * (ReviewLocks) and checked the rules first.
 */
@Injectable()
export class ReviewOpening {
  constructor(
    private readonly reviews: ReviewsRepository,
    private readonly engineers: EngineersRepository,
    private readonly incidents: IncidentsRepository,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly deadlines: ReviewDeadlines,
  ) {}

  /**
   * Inserts the open review and moves counter, incident, audit and outbox with it, in one statement:
   * the audit entries and the event carry the rows as this use case predicts them from the locked
   * rows and the transaction's clock, and the statement returns the rows it wrote, which must be
   * exactly those (else IntegrityError, and nothing is written).
   */
  async open(
    tx: Tx,
    actor: AuditActor,
    opening: {
      incident: IncidentRow;
      engineer: EngineerRow;
      priority: ReviewPriority;
      choice: AssignmentChoice;
      reassignedFromId: string | null;
    },
  ): Promise<ReviewRow> {
    const { incident, engineer, priority, choice } = opening;
    const now = await transactionTime(tx);
    const inserted: NewReview = {
      id: randomUUID(),
      incidentId: incident.id,
      engineerId: engineer.id,
      priority,
      expectedCompletionAt: new Date(now.getTime() + this.deadlines.slaSeconds(priority) * 1_000),
      strategy: choice.strategy,
      assignedBy: actor.sub,
      candidates: choice.candidates,
      loadRatio: choice.loadRatio,
      reassignedFromId: opening.reassignedFromId,
    };
    const review = openedReview(inserted, now);
    const view = toReviewView(review);
    const records: [AuditRecord, ...AuditRecord[]] = [
      { action: 'review.assigned', entityType: 'review', entityId: review.id, before: null, after: view },
    ];
    // The first review of a detected or analysing incident brings it to pending_approval.
    const statusChange =
      incident.status === IncidentStatus.detected || incident.status === IncidentStatus.analyzing
        ? IncidentStatus.pending_approval
        : undefined;
    const incidentAfter: IncidentRow = { ...incident, status: statusChange ?? incident.status, openReviewId: review.id, updatedAt: now };
    if (statusChange) {
      records.push({
        action: 'incident.status_changed',
        entityType: 'incident',
        entityId: incident.id,
        before: toIncidentView(incident),
        after: toIncidentView(incidentAfter),
      });
    }
    const written = await runSteps(tx, [
      { name: 'review', sql: this.reviews.insertStep(inserted), read: { fields: REVIEW_COLUMNS.selectFrom } },
      { name: 'counter', sql: this.engineers.counterStep(engineer.id, 'assigned'), read: 'count' },
      {
        name: 'incident',
        sql: this.incidents.openReviewStep(incident.id, Prisma.sql`(SELECT id::uuid FROM review)`, statusChange),
        read: { fields: INCIDENT_COLUMNS.selectFrom },
      },
      this.audit.recordStep(actor, ...records),
      ...this.outbox.publishSteps({ type: 'review.assigned', review: view }),
    ]);
    if (written['counter.count'] !== 1) throw new IntegrityError(`Engineer ${engineer.id} does not exist under its own lock`);
    expectWrittenAsPredicted(written, 'review', REVIEW_COLUMNS, toReviewView, view);
    expectWrittenAsPredicted(written, 'incident', INCIDENT_COLUMNS, toIncidentView, toIncidentView(incidentAfter));
    return review;
  }

  /**
   * Cancels `review` and opens a new one for `to`: review.reassigned + review.assigned, all or
   * nothing, in two statements (the cancel with its counter, audit entry and event; then `open`).
   * The incident's open review goes straight from the old review to the new one.
   */
  async move(tx: Tx, actor: AuditActor, move: Move): Promise<ReviewRow> {
    const now = await transactionTime(tx);
    const view = toReviewView(cancelledReview(move.review, move.reason, now));
    const written = await runSteps(tx, [
      { name: 'review', sql: this.reviews.cancelStep(move.review.id, move.reason), read: { fields: REVIEW_COLUMNS.selectFrom } },
      { name: 'counter', sql: this.engineers.counterStep(move.review.engineerId, 'released'), read: 'count' },
      this.audit.recordStep(actor, {
        action: 'review.reassigned',
        entityType: 'review',
        entityId: move.review.id,
        before: toReviewView(move.review),
        after: view,
      }),
      ...this.outbox.publishSteps({ type: 'review.reassigned', review: view }),
    ]);
    if (written['counter.count'] !== 1) {
      throw new IntegrityError(`Engineer ${move.review.engineerId} of review ${move.review.id} does not exist`);
    }
    expectWrittenAsPredicted(written, 'review', REVIEW_COLUMNS, toReviewView, view);
    return this.open(tx, actor, {
      incident: move.incident,
      engineer: move.to,
      priority: move.review.priority,
      choice: move.choice,
      reassignedFromId: move.review.id,
    });
  }
}

export function assertIncidentAssignable(incident: IncidentRow): void {
  if (CLOSED_INCIDENT_STATUSES.includes(incident.status)) {
    throw new IncidentClosedError(incident);
  }
  if (incident.openReviewId) {
    throw new IncidentHasOpenReviewError(incident);
  }
}

export function assertEngineerCanTake(engineer: EngineerRow): void {
  if (engineer.deletedAt || engineer.status !== 'active') {
    throw new EngineerUnavailableError(engineer);
  }
  if (engineer.currentReviewCount >= engineer.maxConcurrentReviews) {
    throw new EngineerAtCapacityError(engineer);
  }
}

/**
 * Counts an assign, auto-assign or reassign as success, rejected (a 4xx answer) or error, under the
 * review's priority as `priorityOf` answers once the work has ended (a reassign learns it from the
 * locked review); a call that failed before it was known is not counted.
 */
export async function measureAssignment(
  metrics: ReviewMetrics,
  priorityOf: () => ReviewPriority | undefined,
  work: () => Promise<ReviewView>,
): Promise<ReviewView> {
  try {
    const review = await work();
    metrics.assignment(review.priority, 'success');
    return review;
  } catch (error) {
    const priority = priorityOf();
    if (priority !== undefined) {
      metrics.assignment(priority, error instanceof ConflictError || error instanceof NotFoundError ? 'rejected' : 'error');
    }
    throw error;
  }
}

/** A review as `open` inserts it: assigned now, nothing done on it yet. */
export function openedReview(review: NewReview, now: Date): ReviewRow {
  return {
    id: review.id,
    incidentId: review.incidentId,
    engineerId: review.engineerId,
    status: ReviewStatus.assigned,
    priority: review.priority,
    assignedAt: now,
    startedAt: null,
    submittedAt: null,
    expectedCompletionAt: review.expectedCompletionAt,
    overdue: review.expectedCompletionAt < now,
    escalationLevel: 0,
    lastEscalatedAt: null,
    approach: null,
    analysis: null,
    confidence: null,
    decision: ReviewDecision.pending,
    decisionMadeAt: null,
    decisionRationale: null,
    decidedBy: null,
    cancelledAt: null,
    cancellationReason: null,
    reassignedFromId: review.reassignedFromId,
    decisionOverdueAt: null,
    assignmentStrategy: review.strategy,
    assignedBy: review.assignedBy,
    assignmentCandidates: review.candidates,
    assignmentLoadRatio: review.loadRatio,
    createdAt: now,
    updatedAt: now,
  };
}

/** An open review as `cancelStep` leaves it, at the transaction's clock `now`. */
export function cancelledReview(review: ReviewRow, reason: string, now: Date): ReviewRow {
  return { ...review, status: ReviewStatus.cancelled, overdue: false, cancelledAt: now, cancellationReason: reason, updatedAt: now };
}

/**
 * The audit entries and events of a combined statement are written from the rows the use case
 * predicted; the row its step `step` wrote (read with `columns`, shown by `toView`) must be exactly
 * the predicted one, or the record would lie: IntegrityError, and the transaction writes nothing.
 */
export function expectWrittenAsPredicted<Row, View>(
  written: Record<string, unknown>,
  step: 'review' | 'incident',
  columns: { pick(row: Record<string, unknown>, prefix: string): Row | undefined },
  toView: (row: Row) => View,
  predicted: View,
): void {
  const row = columns.pick(written, step);
  const view = row === undefined ? null : toView(row);
  if (view === null || JSON.stringify(view) !== JSON.stringify(predicted)) {
    throw new IntegrityError(
      `The ${step} written is not the ${step} predicted for its audit entry: ${JSON.stringify({ written: view, predicted })}`,
    );
  }
}
