import { describe, expect, it } from 'vitest';

import {
  ConflictError,
  ERROR_CODES,
  type ErrorCode,
  IntegrityError,
  mapConstraintErrors,
  NotFoundError,
  ValidationFailedError,
} from '@app/common';
import { Prisma } from '@app/database';

import { IdempotencyKeyReusedError, MethodNotAllowedError } from './http.errors.js';
import { STATUS_OF_KIND, toProblem } from './problem.js';

const context = { path: '/api/v1/things', requestId: 'request-1' };

function violation(constraint: string): Prisma.PrismaClientKnownRequestError {
  return new Prisma.PrismaClientKnownRequestError(`duplicate key value violates unique constraint "${constraint}"`, {
    code: 'P2010',
    clientVersion: '7',
    meta: { code: '23505', message: `duplicate key value violates unique constraint "${constraint}"` },
  });
}

class ThingNameTakenError extends ConflictError {
  constructor() {
    super('EMAIL_TAKEN', 'Another thing has this name');
  }
}

describe('constraint violations', () => {
  it('answer the error their module mapped, and an unmapped one is an unexpected 500', () => {
    mapConstraintErrors({ things_name_key: () => new ThingNameTakenError() });
    expect(toProblem(violation('things_name_key'), context)).toMatchObject({
      problem: { status: 409, code: 'EMAIL_TAKEN', detail: 'Another thing has this name', instance: '/api/v1/things' },
      unexpected: false,
    });
    expect(toProblem(violation('things_other_key'), context)).toMatchObject({
      problem: { status: 500, code: 'INTERNAL_ERROR' },
      unexpected: true,
    });
  });
});

describe('domain errors', () => {
  it('are answered with the status of their kind', () => {
    expect(toProblem(new NotFoundError('Thing', 'a'), context).problem).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      detail: 'Thing a not found',
    });
    expect(toProblem(new ThingNameTakenError(), context).problem).toMatchObject({ status: 409, code: 'EMAIL_TAKEN' });
    expect(toProblem(new ValidationFailedError('bad', [{ field: 'name', message: 'too long' }]), context).problem).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'name', message: 'too long' }],
    });
    expect(toProblem(new MethodNotAllowedError('PUT', '/api/v1/things'), context).problem).toMatchObject({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
    });
    expect(toProblem(new IdempotencyKeyReusedError(), context).problem).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('give every code the status of the contract’s error table', () => {
    const contract: Record<ErrorCode, number> = {
      VALIDATION_FAILED: 400,
      EMAIL_DOMAIN_NOT_ALLOWED: 400,
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      SELF_DECISION_FORBIDDEN: 403,
      NOT_FOUND: 404,
      NO_SUBMITTED_REVIEW: 404,
      METHOD_NOT_ALLOWED: 405,
      EMAIL_TAKEN: 409,
      ENGINEER_UNAVAILABLE: 409,
      ENGINEER_AT_CAPACITY: 409,
      ENGINEER_HAS_OPEN_REVIEWS: 409,
      CAPACITY_BELOW_OPEN_REVIEWS: 409,
      ENGINEER_DELETED: 409,
      INCIDENT_HAS_OPEN_REVIEW: 409,
      INCIDENT_CLOSED: 409,
      NO_ENGINEER_AVAILABLE: 409,
      SAME_ENGINEER: 409,
      INVALID_TRANSITION: 409,
      DECISION_ALREADY_MADE: 409,
      EVENT_ID_EXPIRED: 409,
      ALREADY_VOTED: 409,
      PAYLOAD_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      IDEMPOTENCY_KEY_REUSED: 422,
      RATE_LIMITED: 429,
      INTERNAL_ERROR: 500,
      SERVICE_UNAVAILABLE: 503,
    };
    const answered = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, kind]) => [code, STATUS_OF_KIND[kind]]));
    expect(answered).toEqual(contract);
  });

  it('of the integrity kind are unexpected 500s whose detail stays in the log', () => {
    expect(toProblem(new IntegrityError('Engineer e-1 of review r-1 does not exist'), context)).toEqual({
      problem: expect.objectContaining({ status: 500, code: 'INTERNAL_ERROR', detail: 'An unexpected error occurred' }),
      unexpected: true,
    });
  });
});
