import { Injectable, Logger } from '@nestjs/common';

import { AuditService } from '@app/audit';
import { type Actor } from '@app/auth';
import { IncidentStatus, ReviewStatus, TransactionRunner, type Tx } from '@app/database';
import { EngineersRepository } from '@app/engineers';
import { ConflictError, DomainError, NotFoundError } from '@app/http';
import { IncidentsRepository, toIncidentView } from '@app/incidents';
import { ReviewMetrics } from '@app/observability';
import { OutboxService } from '@app/webhooks';

import { AssignmentService } from './assignment.service.js';
import { type ReviewRow, type ReviewView, toReviewView } from './review.view.js';
import { assertTransition } from './review-state-machine.js';
import { ReviewsRepository } from './reviews.repository.js';

export interface Submission {
  approach: string;
  analysis?: string | null;
  confidence?: number | null;
}

/** The moves of a review after assignment: start, submit (the engineer), cancel and decide (an admin). */
@Injectable()
export class ReviewWorkService {
  private readonly logger = new Logger(ReviewWorkService.name);

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly incidents: IncidentsRepository,
    private readonly engineers: EngineersRepository,
    private readonly assignments: AssignmentService,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly metrics: ReviewMetrics,
  ) {}

  async start(actor: Actor, reviewId: string): Promise<ReviewView> {
    return this.transactions.run(async (tx) => {
      const review = await this.lockOwnReview(tx, actor, reviewId);
      assertTransition(review.id, review.status, ReviewStatus.in_progress);
      const started = await this.reviews.start(tx, review.id);
      await this.recordReviewChange(tx, actor, 'review.started', review, started);
      return toReviewView(started);
    });
  }

  async submit(actor: Actor, reviewId: string, submission: Submission): Promise<ReviewView> {
    const { submitted, neverStarted } = await this.transactions.run(async (tx) => {
      const review = await this.lockOwnReview(tx, actor, reviewId);
      assertTransition(review.id, review.status, ReviewStatus.submitted);
      const after = await this.reviews.submit(tx, review.id, {
        approach: submission.approach,
        analysis: submission.analysis ?? null,
        confidence: submission.confidence ?? null,
      });
      await this.recordReviewChange(tx, actor, 'review.submitted', review, after);
      return { submitted: after, neverStarted: review.startedAt === null };
    });
    // The engineer skipped /start; startedAt was back-filled with assignedAt.
    if (neverStarted) this.logger.warn({ reviewId: submitted.id, engineerId: submitted.engineerId }, 'Review submitted without start: startedAt back-filled with assignedAt');
    this.metrics.submitted(submitted.assignedAt, submitted.submittedAt ?? new Date());
    return toReviewView(submitted);
  }

  async cancel(actor: Actor, reviewId: string, reason: string): Promise<ReviewView> {
    const existing = await this.reviews.findById(reviewId);
    if (!existing) throw new NotFoundError('Review', reviewId);
    return this.transactions.run(async (tx) => {
      await this.assignments.lockIncident(tx, existing.incidentId);
      const review = await this.assignments.lockReview(tx, reviewId);
      assertTransition(review.id, review.status, ReviewStatus.cancelled);
      const cancelled = await this.reviews.cancel(tx, review.id, reason);
      await this.assignments.release(tx, review);
      await this.incidents.setOpenReview(tx, review.incidentId, null);
      await this.recordReviewChange(tx, actor, 'review.cancelled', review, cancelled);
      return toReviewView(cancelled);
    });
  }

  /**
   * Checks in the contract's order: DECISION_ALREADY_MADE, NO_SUBMITTED_REVIEW, then separation of
   * duties: nobody decides on a review they submitted, whatever roles their token carries.
   */
  async decide(actor: Actor, incidentId: string, input: { decision: 'ai_approach' | 'engineer_approach'; rationale: string }): Promise<ReviewView> {
    const decided = await this.transactions.run(async (tx) => {
      const incident = await this.assignments.lockIncident(tx, incidentId);
      if (incident.chosenApproach !== null || (await this.reviews.hasDecision(tx, incidentId))) {
        throw new ConflictError('DECISION_ALREADY_MADE', `Incident ${incidentId} already has a decision`);
      }
      const review = await this.reviews.lockSubmittedForIncident(tx, incidentId);
      if (!review) throw new DomainError(404, 'NO_SUBMITTED_REVIEW', `Incident ${incidentId} has no submitted review`);
      if (review.engineerId === actor.engineerId) {
        throw new DomainError(403, 'SELF_DECISION_FORBIDDEN', `Review ${review.id} was submitted by the caller: another admin must decide it`);
      }
      const after = await this.reviews.decide(tx, review.id, { approach: input.decision, rationale: input.rationale, decidedBy: actor.sub });
      await this.assignments.release(tx, review);
      const incidentAfter = await this.incidents.recordDecision(tx, incidentId, input.decision, IncidentStatus.approved);
      await this.recordReviewChange(tx, actor, 'review.decided', review, after);
      await this.audit.record(tx, actor, {
        action: 'incident.decided',
        entityType: 'incident',
        entityId: incidentId,
        before: toIncidentView(incident),
        after: toIncidentView(incidentAfter),
      });
      return after;
    });
    this.metrics.decided(input.decision, decided.assignedAt, decided.decisionMadeAt ?? new Date());
    return toReviewView(decided);
  }

  /**
   * Another engineer's review is 404, never 403, so its existence is not revealed; so is every review
   * for a deleted or unknown engineer.
   */
  private async lockOwnReview(tx: Tx, actor: Actor, reviewId: string): Promise<ReviewRow> {
    const review = await this.reviews.lockById(tx, reviewId);
    if (!review || review.engineerId !== actor.engineerId || (await this.engineers.current(actor.engineerId, tx)) === null) {
      throw new NotFoundError('Review', reviewId);
    }
    return review;
  }

  private async recordReviewChange(
    tx: Tx,
    actor: Actor,
    action: 'review.started' | 'review.submitted' | 'review.cancelled' | 'review.decided',
    before: ReviewRow,
    after: ReviewRow,
  ): Promise<void> {
    const view = toReviewView(after);
    await this.audit.record(tx, actor, { action, entityType: 'review', entityId: after.id, before: toReviewView(before), after: view });
    await this.outbox.publish(tx, { type: action, review: view });
  }
}
