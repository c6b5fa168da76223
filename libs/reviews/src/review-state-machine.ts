import { ReviewStatus } from '@app/database';

import { type DecisionValue } from './decision.repository.js';
import { InvalidTransitionError } from './review.errors.js';

export const OPEN_REVIEW_STATUSES: readonly ReviewStatus[] = [ReviewStatus.assigned, ReviewStatus.in_progress, ReviewStatus.submitted];

/** Reviews that can still be handed to someone else (reassign, drain, level-2 escalation). */
export const MOVABLE_REVIEW_STATUSES: readonly ReviewStatus[] = [ReviewStatus.assigned, ReviewStatus.in_progress];

/**
 * The contract's table of allowed moves, and the only place that decides them. Reassign is a
 * cancel of a movable review plus a new review; it is checked with `assertMovable`.
 */
export const REVIEW_TRANSITIONS: Readonly<Record<ReviewStatus, readonly ReviewStatus[]>> = {
  [ReviewStatus.assigned]: [ReviewStatus.in_progress, ReviewStatus.submitted, ReviewStatus.cancelled],
  [ReviewStatus.in_progress]: [ReviewStatus.submitted, ReviewStatus.cancelled],
  [ReviewStatus.submitted]: [ReviewStatus.accepted, ReviewStatus.rejected, ReviewStatus.cancelled],
  [ReviewStatus.accepted]: [],
  [ReviewStatus.rejected]: [],
  [ReviewStatus.cancelled]: [],
};

export function canTransition(from: ReviewStatus, to: ReviewStatus): boolean {
  return REVIEW_TRANSITIONS[from].includes(to);
}

export function assertTransition(reviewId: string, from: ReviewStatus, to: ReviewStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(reviewId, from, to);
}

/** A decision for the engineer's approach accepts the submitted review; one for the AI's rejects it. */
export function statusAfterDecision(decision: DecisionValue): ReviewStatus {
  return decision === 'engineer_approach' ? ReviewStatus.accepted : ReviewStatus.rejected;
}

export function assertMovable(reviewId: string, from: ReviewStatus): void {
  if (!MOVABLE_REVIEW_STATUSES.includes(from)) throw new InvalidTransitionError(reviewId, from, 'reassigned');
}
