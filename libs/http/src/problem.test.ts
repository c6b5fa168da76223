import { describe, expect, it } from 'vitest';

import { Prisma } from '@app/database';

import { registerConstraintProblems, toProblem } from './problem.js';

const context = { path: '/api/v1/things', requestId: 'request-1' };

function violation(constraint: string): Prisma.PrismaClientKnownRequestError {
  return new Prisma.PrismaClientKnownRequestError(`duplicate key value violates unique constraint "${constraint}"`, {
    code: 'P2010',
    clientVersion: '7',
    meta: { code: '23505', message: `duplicate key value violates unique constraint "${constraint}"` },
  });
}

describe('constraint violations', () => {
  it('answer the code their module registered, and an unregistered one is an unexpected 500', () => {
    registerConstraintProblems({ things_name_key: { status: 409, code: 'EMAIL_TAKEN', detail: 'Another thing has this name' } });
    expect(toProblem(violation('things_name_key'), context)).toMatchObject({
      problem: { status: 409, code: 'EMAIL_TAKEN', detail: 'Another thing has this name', instance: '/api/v1/things' },
      unexpected: false,
    });
    expect(toProblem(violation('things_other_key'), context)).toMatchObject({ problem: { status: 500, code: 'INTERNAL_ERROR' }, unexpected: true });
  });
});
