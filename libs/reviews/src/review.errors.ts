import { ConflictError, DomainError, mapConstraintErrors } from '@app/common';
import type { EngineerStatus, IncidentStatus, ReviewStatus } from '@app/database';

/** The move is not in the review state machine's table (reassign counts as a move to `reassigned`). */
export class InvalidTransitionError extends ConflictError {
  constructor(reviewId: string, from: ReviewStatus, to: ReviewStatus | 'reassigned') {
    super('INVALID_TRANSITION', `Review ${reviewId} cannot move from ${from} to ${to}`);
  }
}

export class IncidentClosedError extends ConflictError {
  constructor(incident: { id: string; status: IncidentStatus }) {
    super('INCIDENT_CLOSED', `Incident ${incident.id} is ${incident.status}`);
  }
}

/** One open review per incident; without the incident's row, the partial unique index caught it. */
export class IncidentHasOpenReviewError extends ConflictError {
  constructor(incident?: { id: string; openReviewId: string | null }) {
    super(
      'INCIDENT_HAS_OPEN_REVIEW',
      incident ? `Incident ${incident.id} already has open review ${incident.openReviewId}` : 'The incident already has an open review',
    );
  }
}

/** The engineer is not active, or is deleted: nothing new is assigned to them. */
export class EngineerUnavailableError extends ConflictError {
  constructor(engineer: { id: string; status: EngineerStatus; deletedAt: Date | null }) {
    super('ENGINEER_UNAVAILABLE', `Engineer ${engineer.id} is ${engineer.deletedAt ? 'deleted' : engineer.status}`);
  }
}

export class NoEngineerAvailableError extends ConflictError {
  /** @param wanted what an engineer would need to have, e.g. "expertise db, network" */
  constructor(wanted: string) {
    super('NO_ENGINEER_AVAILABLE', `No available engineer has ${wanted}`);
  }
}

export class SameEngineerError extends ConflictError {
  constructor(reviewId: string, engineerId: string) {
    super('SAME_ENGINEER', `Review ${reviewId} is already held by engineer ${engineerId}`);
  }
}

export class DecisionAlreadyMadeError extends ConflictError {
  constructor(incidentId: string) {
    super('DECISION_ALREADY_MADE', `Incident ${incidentId} already has a decision`);
  }
}

export class NoSubmittedReviewError extends DomainError {
  constructor(incidentId: string) {
    super('NO_SUBMITTED_REVIEW', `Incident ${incidentId} has no submitted review`);
  }
}

/** Separation of duties: nobody decides on a review they submitted, whatever roles their token carries. */
export class SelfDecisionForbiddenError extends DomainError {
  constructor(reviewId: string) {
    super('SELF_DECISION_FORBIDDEN', `Review ${reviewId} was submitted by the caller: another admin must decide it`);
  }
}

export class AlreadyVotedError extends ConflictError {
  constructor(voter: string, reviewId: string) {
    super('ALREADY_VOTED', `${voter} has already voted on review ${reviewId}`);
  }
}

mapConstraintErrors({
  reviews_one_open_per_incident: () => new IncidentHasOpenReviewError(),
});
