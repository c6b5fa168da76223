import { ConflictError, DomainError, mapConstraintErrors } from '@app/common';

export class EmailDomainNotAllowedError extends DomainError {
  constructor(domain: string) {
    super('EMAIL_DOMAIN_NOT_ALLOWED', `Email domain ${domain} is not allowed`);
  }
}

/** Decided by the unique index on the email, not by a prior SELECT: two racing creates get one 201 and one 409. */
export class EmailTakenError extends ConflictError {
  constructor() {
    super('EMAIL_TAKEN', 'Another engineer (deleted ones included) has this email');
  }
}

export class EngineerDeletedError extends ConflictError {
  constructor(id: string) {
    super('ENGINEER_DELETED', `Engineer ${id} is deleted`);
  }
}

export class EngineerHasOpenReviewsError extends ConflictError {
  constructor(id: string, open: number) {
    super('ENGINEER_HAS_OPEN_REVIEWS', `Engineer ${id} has ${open} open reviews`);
  }
}

export class CapacityBelowOpenReviewsError extends ConflictError {
  constructor(id: string, open: number, requested: number) {
    super('CAPACITY_BELOW_OPEN_REVIEWS', `Engineer ${id} has ${open} open reviews; maxConcurrentReviews cannot be ${requested}`);
  }
}

/** The engineer holds maxConcurrentReviews open reviews; without the row, the CHECK constraint caught it. */
export class EngineerAtCapacityError extends ConflictError {
  constructor(engineer?: { id: string; currentReviewCount: number; maxConcurrentReviews: number }) {
    super(
      'ENGINEER_AT_CAPACITY',
      engineer
        ? `Engineer ${engineer.id} has ${engineer.currentReviewCount} of ${engineer.maxConcurrentReviews} open reviews`
        : 'The engineer is at capacity',
    );
  }
}

mapConstraintErrors({
  engineers_email_key: () => new EmailTakenError(),
  engineers_review_count_within_capacity: () => new EngineerAtCapacityError(),
});
