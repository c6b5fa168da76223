import { STATUS_CODES } from 'node:http';

import { HttpException } from '@nestjs/common';

import { DomainError, type ErrorCode, errorForConstraint, type ErrorKind, type FieldError } from '@app/common';
import {
  describeDatabaseError,
  isConnectionFailure,
  isLockWaitExceeded,
  isRetryableConflict,
  TransactionConflictError,
} from '@app/database';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance: string;
  requestId: string;
  errors?: FieldError[];
  /** A failed health check (GET /health/ready): @nestjs/terminus's `info`, `error` and `details`. */
  info?: unknown;
  error?: unknown;
  details?: unknown;
}

/** The one table from an error's kind to the HTTP status it is answered with. */
export const STATUS_OF_KIND = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'too-large': 413,
  'unsupported-media-type': 415,
  mismatch: 422,
  'rate-limited': 429,
  integrity: 500,
  unavailable: 503,
} as const satisfies Record<ErrorKind, number>;

/** The code of an HttpException that carries none (thrown by Nest or a library, not by our code). */
const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

export interface ProblemContext {
  path: string;
  requestId: string;
}

export interface ClassifiedError {
  problem: ProblemDetails;
  /** True when the error is unexpected and must be logged with its stack. */
  unexpected: boolean;
}

/** The body @nestjs/terminus throws with when a check fails: kept as extension members of the problem. */
function isHealthCheckResult(
  body: Record<string, unknown>,
): body is { status: 'error'; info?: Record<string, unknown>; error?: Record<string, unknown>; details: unknown } {
  return body.status === 'error' && typeof body.details === 'object' && body.details !== null;
}

function problem(status: number, code: ErrorCode, context: ProblemContext, detail?: string, errors?: FieldError[]): ProblemDetails {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
    instance: context.path,
    requestId: context.requestId,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Turns anything thrown while handling a request into the contract's problem+json body. */
export function toProblem(error: unknown, context: ProblemContext): ClassifiedError {
  if (error instanceof DomainError) return fromDomainError(error, context);
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    const code = (body.code as ErrorCode | undefined) ?? HTTP_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED');
    if (isHealthCheckResult(body)) {
      const failing = Object.keys(body.error ?? {}).join(', ');
      const health = { info: body.info, error: body.error, details: body.details };
      return { problem: { ...problem(status, code, context, `Health check failed: ${failing}`), ...health }, unexpected: false };
    }
    const detail = typeof body.detail === 'string' ? body.detail : typeof body.message === 'string' ? body.message : error.message;
    return { problem: problem(status, code, context, detail, body.errors as FieldError[] | undefined), unexpected: status >= 500 };
  }
  if (error instanceof TransactionConflictError || isRetryableConflict(error)) {
    return {
      problem: problem(503, 'SERVICE_UNAVAILABLE', context, 'The operation kept conflicting with concurrent changes; retry it'),
      unexpected: false,
    };
  }
  if (isLockWaitExceeded(error)) {
    return {
      problem: problem(503, 'SERVICE_UNAVAILABLE', context, 'A row this request needs stayed locked by other work; retry shortly'),
      unexpected: false,
    };
  }
  if (isConnectionFailure(error)) {
    return { problem: problem(503, 'SERVICE_UNAVAILABLE', context, 'The database is unavailable; retry later'), unexpected: false };
  }
  const database = describeDatabaseError(error);
  const mapped = database?.constraint ? errorForConstraint(database.constraint) : undefined;
  if (mapped) return fromDomainError(mapped, context);
  return unexpectedError(context);
}

function fromDomainError(error: DomainError, context: ProblemContext): ClassifiedError {
  // A broken invariant is our bug: logged with its detail, answered like any unexpected error.
  if (error.kind === 'integrity') return unexpectedError(context);
  return { problem: problem(STATUS_OF_KIND[error.kind], error.code, context, error.detail, error.errors), unexpected: false };
}

function unexpectedError(context: ProblemContext): ClassifiedError {
  return { problem: problem(500, 'INTERNAL_ERROR', context, 'An unexpected error occurred'), unexpected: true };
}
