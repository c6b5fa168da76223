import { Injectable } from '@nestjs/common';

import { AuditService } from '@app/audit';
import { type Actor } from '@app/auth';
import { IntegrityError } from '@app/common';
import { Prisma, ReviewStatus, runSteps, TransactionRunner, transactionTime } from '@app/database';
import { EngineersRepository } from '@app/engineers';
import { IncidentsRepository } from '@app/incidents';
import { OutboxService } from '@app/webhooks';

import { DecisionRepository } from './decision.repository.js';
import { REVIEW_COLUMNS, type ReviewView, toReviewView } from './review.view.js';
import { ReviewLocks } from './review-locks.js';
import { cancelledReview, expectWrittenAsPredicted } from './review-opening.js';
import { assertTransition } from './review-state-machine.js';
import { ReviewsRepository } from './reviews.repository.js';

/**
 * An admin cancels an open review: the review, its votes, the engineer's counter, the incident's open
 * review, the audit entry and the event change together, in one statement, under the incident's and
 * then the review's lock (two round trips in all: the locks, then the writes).
 */
@Injectable()
export class ReviewCancellationService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly incidents: IncidentsRepository,
    private readonly decisions: DecisionRepository,
    private readonly engineers: EngineersRepository,
    private readonly locks: ReviewLocks,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
  ) {}

  async cancel(actor: Actor, reviewId: string, reason: string): Promise<ReviewView> {
    return this.transactions.run(async (tx) => {
      const [review] = await this.locks.reviewWithIncident(tx, reviewId);
      assertTransition(review.id, review.status, ReviewStatus.cancelled);
      const now = await transactionTime(tx);
      const view = toReviewView(cancelledReview(review, reason, now));
      const written = await runSteps(tx, [
        { name: 'review', sql: this.reviews.cancelStep(review.id, reason), read: { fields: REVIEW_COLUMNS.selectFrom } },
        { name: 'votes', sql: this.decisions.discardVotesStep(review.id), read: 'nothing' },
        { name: 'counter', sql: this.engineers.counterStep(review.engineerId, 'released'), read: 'count' },
        { name: 'incident', sql: this.incidents.openReviewStep(review.incidentId, Prisma.sql`NULL`), read: 'count' },
        this.audit.recordStep(actor, {
          action: 'review.cancelled',
          entityType: 'review',
          entityId: review.id,
          before: toReviewView(review),
          after: view,
        }),
        ...this.outbox.publishSteps({ type: 'review.cancelled', review: view }),
      ]);
      if (written['counter.count'] !== 1) throw new IntegrityError(`Engineer ${review.engineerId} of review ${review.id} does not exist`);
      if (written['incident.count'] !== 1) throw new IntegrityError(`Incident ${review.incidentId} of review ${review.id} does not exist`);
      expectWrittenAsPredicted(written, 'review', REVIEW_COLUMNS, toReviewView, view);
      return view;
    });
  }
}
