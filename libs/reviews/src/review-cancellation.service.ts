import { Injectable } from '@nestjs/common';

import { AuditService } from '@app/audit';
import { type Actor } from '@app/auth';
import { NotFoundError } from '@app/common';
import { ReviewStatus, TransactionRunner } from '@app/database';
import { IncidentsRepository } from '@app/incidents';
import { OutboxService } from '@app/webhooks';

import { DecisionRepository } from './decision.repository.js';
import { type ReviewView, toReviewView } from './review.view.js';
import { ReviewLocks } from './review-locks.js';
import { ReviewOpening } from './review-opening.js';
import { assertTransition } from './review-state-machine.js';
import { ReviewsRepository } from './reviews.repository.js';

/**
 * An admin cancels an open review: the review, its votes, the engineer's counter and the incident's
 * open review change together, under the incident's and then the review's lock.
 */
@Injectable()
export class ReviewCancellationService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly incidents: IncidentsRepository,
    private readonly decisions: DecisionRepository,
    private readonly locks: ReviewLocks,
    private readonly opening: ReviewOpening,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
  ) {}

  async cancel(actor: Actor, reviewId: string, reason: string): Promise<ReviewView> {
    const existing = await this.reviews.findById(reviewId);
    if (!existing) throw new NotFoundError('Review', reviewId);
    return this.transactions.run(async (tx) => {
      await this.locks.incident(tx, existing.incidentId);
      const review = await this.locks.review(tx, reviewId);
      assertTransition(review.id, review.status, ReviewStatus.cancelled);
      const cancelled = await this.reviews.cancel(tx, review.id, reason);
      await this.decisions.discardVotes(tx, review.id);
      await this.opening.release(tx, review);
      await this.incidents.setOpenReview(tx, review.incidentId, null);
      const view = toReviewView(cancelled);
      await this.audit.record(tx, actor, { action: 'review.cancelled', entityType: 'review', entityId: review.id, before: toReviewView(review), after: view });
      await this.outbox.publish(tx, { type: 'review.cancelled', review: view });
      return view;
    });
  }
}
