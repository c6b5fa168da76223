import { type CodeOf, ERROR_CODES, type ErrorCode, type ErrorKind } from './error-codes.js';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * A failure the client can act on, with the contract's stable `code` and the kind that code has.
 * Modules throw their named subclasses, declared in their own `*.errors.ts`; the HTTP layer renders
 * them as problem+json.
 */
export class DomainError extends Error {
  readonly kind: ErrorKind;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
    this.kind = ERROR_CODES[code];
  }
}

/** An entity that does not exist, or that the caller may not know exists. */
export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super('NOT_FOUND', `${entity} ${id} not found`);
  }
}

/** The request conflicts with the current state; each conflict is a named subclass with its own code. */
export abstract class ConflictError extends DomainError {
  protected constructor(code: CodeOf<'conflict'>, detail: string) {
    super(code, detail);
  }
}

/** The request is malformed or out of range; `errors` names the fields when there are any. */
export class ValidationFailedError extends DomainError {
  constructor(detail: string, errors?: FieldError[]) {
    super('VALIDATION_FAILED', detail, errors);
  }
}

/** The caller's credentials are missing or not accepted. */
export class UnauthenticatedError extends DomainError {
  constructor(detail: string) {
    super('UNAUTHENTICATED', detail);
  }
}

/** The caller is known, but its role may not do this. */
export class ForbiddenError extends DomainError {
  constructor(detail: string) {
    super('FORBIDDEN', detail);
  }
}

/** Something the request needs is unavailable for now; the client retries later. */
export class ServiceUnavailableError extends DomainError {
  constructor(detail: string) {
    super('SERVICE_UNAVAILABLE', detail);
  }
}

/**
 * An invariant the code relies on does not hold: a bug or corrupted data, never the caller's fault.
 * It rolls the transaction back and is answered as an unexpected error, its detail kept for the log.
 */
export class IntegrityError extends DomainError {
  constructor(detail: string) {
    super('INTERNAL_ERROR', detail);
  }
}
