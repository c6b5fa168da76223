import { HttpStatus } from '@nestjs/common';

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'EMAIL_DOMAIN_NOT_ALLOWED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'SELF_DECISION_FORBIDDEN'
  | 'NOT_FOUND'
  | 'NO_SUBMITTED_REVIEW'
  | 'EMAIL_TAKEN'
  | 'ENGINEER_UNAVAILABLE'
  | 'ENGINEER_AT_CAPACITY'
  | 'ENGINEER_HAS_OPEN_REVIEWS'
  | 'CAPACITY_BELOW_OPEN_REVIEWS'
  | 'ENGINEER_DELETED'
  | 'INCIDENT_HAS_OPEN_REVIEW'
  | 'INCIDENT_CLOSED'
  | 'NO_ENGINEER_AVAILABLE'
  | 'SAME_ENGINEER'
  | 'INVALID_TRANSITION'
  | 'DECISION_ALREADY_MADE'
  | 'EVENT_ID_EXPIRED'
  | 'ALREADY_VOTED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'RATE_LIMITED'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * A failure the client can act on, with the contract's stable `code`. Modules throw these (or
 * their named subclasses); the global filter renders them as problem+json.
 */
export class DomainError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }
}

export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super(HttpStatus.NOT_FOUND, 'NOT_FOUND', `${entity} ${id} not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(code: ErrorCode, detail: string) {
    super(HttpStatus.CONFLICT, code, detail);
  }
}

export class ValidationFailedError extends DomainError {
  constructor(detail: string, errors?: FieldError[]) {
    super(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', detail, errors);
  }
}

/** An invariant the code relies on does not hold: a bug or corrupted data, never the caller's fault. */
export class IntegrityError extends Error {}
