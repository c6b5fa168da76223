import { Inject, Injectable, Logger } from '@nestjs/common';

import { AuditService } from '@app/audit';
import { Actor } from '@app/auth';
import { IntegrityError } from '@app/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { IncidentStatus, Prisma, ReviewStatus, runSteps, TransactionRunner, transactionTime, type Tx } from '@app/database';
import { EngineersRepository } from '@app/engineers';
import { INCIDENT_COLUMNS, type IncidentRow, IncidentsRepository, toIncidentView } from '@app/incidents';
import { ReviewMetrics } from '@app/observability';
import { OutboxService } from '@app/webhooks';

import { DecisionRepository, type DecisionValue } from './decision.repository.js';
import { DecisionService } from './decision.service.js';
import { type DecisionView, toVoteView } from './decision.view.js';
import { AlreadyVotedError, DecisionAlreadyMadeError, NoSubmittedReviewError, SelfDecisionForbiddenError } from './review.errors.js';
import { REVIEW_COLUMNS, type ReviewRow, type ReviewView, toReviewView } from './review.view.js';
import { ReviewLocks } from './review-locks.js';
import { expectWrittenAsPredicted } from './review-opening.js';
import { assertTransition, statusAfterDecision } from './review-state-machine.js';
import { ReviewsRepository } from './reviews.repository.js';

const DEADLINE_RATIONALE = 'decision deadline passed';

export interface DecisionInput {
  decision: DecisionValue;
  rationale: string;
}

/** A decision, or (quorum) a vote that did not yet decide: the decision view with the votes so far. */
export type DecisionOutcome = { decided: ReviewView } | { pending: DecisionView };

export interface Submission {
  approach: string;
  analysis?: string | null;
  confidence?: number | null;
}

/** The moves of a review after assignment: start, submit (the engineer) and decide (an admin, or the deadline). */
@Injectable()
export class ReviewWorkService {
  private readonly logger = new Logger(ReviewWorkService.name);

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly incidents: IncidentsRepository,
    private readonly engineers: EngineersRepository,
    private readonly locks: ReviewLocks,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly metrics: ReviewMetrics,
    private readonly decisions: DecisionRepository,
    private readonly decisionViews: DecisionService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async start(actor: Actor, reviewId: string): Promise<ReviewView> {
    return this.transactions.run(async (tx) => {
      const review = await this.locks.ownReview(tx, reviewId, actor.engineerId);
      assertTransition(review.id, review.status, ReviewStatus.in_progress);
      const now = await transactionTime(tx);
      // Still open, so `overdue` stays as the lock statement computed it (same now(), same deadline).
      const started: ReviewRow = { ...review, status: ReviewStatus.in_progress, startedAt: now, updatedAt: now };
      await this.writeReviewChange(tx, actor, 'review.started', review, started, this.reviews.startStep(review.id));
      return toReviewView(started);
    });
  }

  async submit(actor: Actor, reviewId: string, submission: Submission): Promise<ReviewView> {
    const { submitted, neverStarted } = await this.transactions.run(async (tx) => {
      const review = await this.locks.ownReview(tx, reviewId, actor.engineerId);
      assertTransition(review.id, review.status, ReviewStatus.submitted);
      const work = { approach: submission.approach, analysis: submission.analysis ?? null, confidence: submission.confidence ?? null };
      const now = await transactionTime(tx);
      const after: ReviewRow = {
        ...review,
        ...work,
        status: ReviewStatus.submitted,
        overdue: false,
        startedAt: review.startedAt ?? review.assignedAt,
        submittedAt: now,
        updatedAt: now,
      };
      await this.writeReviewChange(tx, actor, 'review.submitted', review, after, this.reviews.submitStep(review.id, work));
      return { submitted: after, neverStarted: review.startedAt === null };
    });
    // The engineer skipped /start; startedAt was back-filled with assignedAt.
    if (neverStarted)
      this.logger.warn(
        { reviewId: submitted.id, engineerId: submitted.engineerId },
        'Review submitted without start: startedAt back-filled with assignedAt',
      );
    this.metrics.submitted(submitted.assignedAt, submitted.submittedAt ?? new Date());
    return toReviewView(submitted);
  }

  /**
   * Checks in the contract's order: DECISION_ALREADY_MADE, NO_SUBMITTED_REVIEW, then separation of
   * duties (nobody decides on a review they submitted, whatever roles their token carries), then, when
   * the review's priority needs more than one approval, ALREADY_VOTED. With a quorum each call is a
   * vote, and the vote that brings one value to the required number decides. Votes on an incident
   * take turns on its row lock, so concurrent last votes decide exactly once.
   */
  async decide(actor: Actor, incidentId: string, input: DecisionInput): Promise<DecisionOutcome> {
    const outcome = await this.transactions.run(async (tx): Promise<{ decided: ReviewRow } | { pending: DecisionView }> => {
      const { incident, decided, review } = await this.locks.decisionSubject(tx, incidentId);
      if (decided) throw new DecisionAlreadyMadeError(incidentId);
      if (!review) throw new NoSubmittedReviewError(incidentId);
      if (review.engineerId === actor.engineerId) {
        throw new SelfDecisionForbiddenError(review.id);
      }
      const required = this.config.decisions.approvals[review.priority];
      if (required > 1) {
        const before = await this.decisions.votes(review.id, tx);
        if (!(await this.decisions.addVote(tx, review.id, { adminSub: actor.sub, decision: input.decision, rationale: input.rationale }))) {
          throw new AlreadyVotedError(actor.sub, review.id);
        }
        const votes = await this.decisions.votes(review.id, tx);
        if (votes.filter((vote) => vote.decision === input.decision).length < required) {
          await this.audit.record(tx, actor, {
            action: 'review.voted',
            entityType: 'review',
            entityId: review.id,
            before: { ...toReviewView(review), votes: before.map(toVoteView) },
            after: { ...toReviewView(review), votes: votes.map(toVoteView) },
          });
          return { pending: await this.decisionViews.current(incidentId, tx) };
        }
      }
      return { decided: await this.finalizeDecision(tx, actor, incident, review, input) };
    });
    if ('pending' in outcome) {
      this.metrics.voted(input.decision);
      return outcome;
    }
    this.metrics.decided(input.decision, outcome.decided.assignedAt, outcome.decided.decisionMadeAt ?? new Date());
    return { decided: toReviewView(outcome.decided) };
  }

  /**
   * DECISION_DEADLINE_ACTION: decides a review the scheduler has marked decision-overdue, as system:sla.
   * Exactly once across replicas: under the incident's row lock, a review that is no longer the
   * incident's submitted one, or an incident already decided, is left alone (undefined).
   */
  async decideAtDeadline(reviewId: string, incidentId: string, decision: DecisionValue): Promise<ReviewView | undefined> {
    const decided = await this.transactions.run(async (tx) => {
      const { incident, decided, review } = await this.locks.decisionSubject(tx, incidentId);
      if (decided || review?.id !== reviewId || review.decisionOverdueAt === null) return undefined;
      return this.finalizeDecision(tx, Actor.system(), incident, review, { decision, rationale: DEADLINE_RATIONALE });
    });
    if (!decided) return undefined;
    this.metrics.decided(decision, decided.assignedAt, decided.decisionMadeAt ?? new Date(), 'deadline');
    return toReviewView(decided);
  }

  /**
   * The review decided, the engineer released, the incident approved, both audited, the event
   * recorded and waiters woken at commit, in one statement: the audit entries and the event carry
   * the rows predicted from the locked ones and the transaction's clock, which the statement must
   * have written exactly (else IntegrityError, and nothing is written).
   */
  private async finalizeDecision(tx: Tx, actor: Actor, incident: IncidentRow, review: ReviewRow, input: DecisionInput): Promise<ReviewRow> {
    const now = await transactionTime(tx);
    const after: ReviewRow = {
      ...review,
      status: statusAfterDecision(input.decision),
      overdue: false,
      decision: input.decision,
      decisionMadeAt: now,
      decisionRationale: input.rationale,
      decidedBy: actor.sub,
      updatedAt: now,
    };
    const incidentAfter: IncidentRow = {
      ...incident,
      status: IncidentStatus.approved,
      chosenApproach: input.decision,
      openReviewId: null,
      updatedAt: now,
    };
    const view = toReviewView(after);
    const written = await runSteps(tx, [
      {
        name: 'review',
        sql: this.reviews.decideStep(review.id, { approach: input.decision, rationale: input.rationale, decidedBy: actor.sub }),
        read: { fields: REVIEW_COLUMNS.selectFrom },
      },
      { name: 'counter', sql: this.engineers.counterStep(review.engineerId, 'released'), read: 'count' },
      {
        name: 'incident',
        sql: this.incidents.recordDecisionStep(incident.id, input.decision, IncidentStatus.approved),
        read: { fields: INCIDENT_COLUMNS.selectFrom },
      },
      this.audit.recordStep(
        actor,
        { action: 'review.decided', entityType: 'review', entityId: review.id, before: toReviewView(review), after: view },
        {
          action: 'incident.decided',
          entityType: 'incident',
          entityId: incident.id,
          before: toIncidentView(incident),
          after: toIncidentView(incidentAfter),
        },
      ),
      ...this.outbox.publishSteps({ type: 'review.decided', review: view }),
      { name: 'announcement', sql: this.decisions.announceDecisionStep(incident.id), read: 'count' },
    ]);
    if (written['counter.count'] !== 1) throw new IntegrityError(`Engineer ${review.engineerId} of review ${review.id} does not exist`);
    if (written['announcement.count'] !== 1) throw new IntegrityError(`The decision on incident ${incident.id} was not announced`);
    expectWrittenAsPredicted(written, 'review', REVIEW_COLUMNS, toReviewView, view);
    expectWrittenAsPredicted(written, 'incident', INCIDENT_COLUMNS, toIncidentView, toIncidentView(incidentAfter));
    return after;
  }

  /**
   * The review's change, its audit entry and its event in one statement, all from the row predicted
   * for it; the statement must have written exactly that row (else IntegrityError, and nothing is written).
   */
  private async writeReviewChange(
    tx: Tx,
    actor: Actor,
    action: 'review.started' | 'review.submitted',
    before: ReviewRow,
    after: ReviewRow,
    change: Prisma.Sql,
  ): Promise<void> {
    const view = toReviewView(after);
    const written = await runSteps(tx, [
      { name: 'review', sql: change, read: { fields: REVIEW_COLUMNS.selectFrom } },
      this.audit.recordStep(actor, { action, entityType: 'review', entityId: after.id, before: toReviewView(before), after: view }),
      ...this.outbox.publishSteps({ type: action, review: view }),
    ]);
    expectWrittenAsPredicted(written, 'review', REVIEW_COLUMNS, toReviewView, view);
  }
}
