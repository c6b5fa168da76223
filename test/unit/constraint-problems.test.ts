import '@app/reviews';

import { describe, expect, it } from 'vitest';

import { Prisma } from '@app/database';
import { toProblem } from '@app/http';

const context = { path: '/api/v1/reviews', requestId: 'request-1' };

function violation(constraint: string): Prisma.PrismaClientKnownRequestError {
  return new Prisma.PrismaClientKnownRequestError(`new row violates constraint "${constraint}"`, {
    code: 'P2010',
    clientVersion: '7',
    meta: { code: '23505', message: `new row violates constraint "${constraint}"` },
  });
}

describe('the constraints behind the checks', () => {
  it('are mapped by the modules that own the tables to their named errors', () => {
    expect(toProblem(violation('engineers_email_key'), context).problem).toMatchObject({ status: 409, code: 'EMAIL_TAKEN' });
    expect(toProblem(violation('reviews_one_open_per_incident'), context).problem).toMatchObject({
      status: 409,
      code: 'INCIDENT_HAS_OPEN_REVIEW',
    });
    expect(toProblem(violation('engineers_review_count_within_capacity'), context).problem).toMatchObject({
      status: 409,
      code: 'ENGINEER_AT_CAPACITY',
    });
  });
});
