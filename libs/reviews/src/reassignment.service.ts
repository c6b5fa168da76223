import { Injectable } from '@nestjs/common';

import type { AuditActor } from '@app/audit';
import { type Actor } from '@app/auth';
import { AssignmentStrategy, type ReviewPriority, TransactionRunner, type Tx } from '@app/database';
import type { IncidentRow } from '@app/incidents';
import { ReviewMetrics } from '@app/observability';

import { SameEngineerError } from './review.errors.js';
import { type ReviewRow, type ReviewView, toReviewView } from './review.view.js';
import { ReviewLocks } from './review-locks.js';
import { assertEngineerCanTake, automatic, measureAssignment, REASSIGN, ReviewOpening } from './review-opening.js';
import { assertMovable } from './review-state-machine.js';

/**
 * A movable review handed to another engineer: the review is cancelled and a successor opened, in one
 * transaction that locks incident, review, then both engineers by id (ReviewLocks).
 */
@Injectable()
export class ReassignmentService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly locks: ReviewLocks,
    private readonly opening: ReviewOpening,
    private readonly metrics: ReviewMetrics,
  ) {}

  /** To the engineer the caller names. */
  async reassign(actor: Actor, reviewId: string, input: { engineerId: string; reason: string }): Promise<ReviewView> {
    let priority: ReviewPriority | undefined;
    return measureAssignment(
      this.metrics,
      () => priority,
      () =>
        this.transactions.run(async (tx) => {
          const [review, incident] = await this.locks.reviewWithIncident(tx, reviewId);
          priority = review.priority;
          const [current, target] = await this.locks.engineerPair(tx, review.engineerId, input.engineerId);
          assertMovable(review.id, review.status);
          if (target.id === current.id) throw new SameEngineerError(reviewId, target.id);
          assertEngineerCanTake(target);
          const moved = await this.opening.move(tx, actor, { review, incident, to: target, reason: input.reason, choice: REASSIGN });
          return toReviewView(moved);
        }),
    );
  }

  /**
   * Level-2 escalation with auto-reassign: the SLA module calls this inside its own transaction, after
   * locking incident and review with ReviewLocks. Returns the new review, or undefined when nobody
   * else can take it.
   */
  async reassignForEscalation(tx: Tx, actor: AuditActor, review: ReviewRow, incident: IncidentRow): Promise<ReviewRow | undefined> {
    await this.locks.engineer(tx, review.engineerId);
    const candidate = await this.locks.candidate(tx, incident.requiredExpertise, review.engineerId);
    if (!candidate) return undefined;
    return this.opening.move(tx, actor, {
      review,
      incident,
      to: candidate.engineer,
      reason: 'escalation',
      choice: automatic(AssignmentStrategy.escalation, candidate),
    });
  }
}
