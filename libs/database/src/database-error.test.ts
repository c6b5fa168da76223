import { describe, expect, it } from 'vitest';

import { isConnectionFailure, isLockWaitExceeded } from './database-error.js';
import { Prisma } from './generated/prisma/client.js';

describe('isLockWaitExceeded', () => {
  it('recognises an expired interactive transaction (P2028) and lock_not_available (55P03), nothing else', () => {
    const expired = new Prisma.PrismaClientKnownRequestError('Transaction already closed', { code: 'P2028', clientVersion: '7' });
    const lockTimeout = new Prisma.PrismaClientKnownRequestError('Raw query failed', {
      code: 'P2010',
      clientVersion: '7',
      meta: { code: '55P03', message: 'canceling statement due to lock timeout' },
    });
    const deadlock = new Prisma.PrismaClientKnownRequestError('Raw query failed', {
      code: 'P2010',
      clientVersion: '7',
      meta: { code: '40P01' },
    });
    expect(isLockWaitExceeded(expired)).toBe(true);
    expect(isLockWaitExceeded(lockTimeout)).toBe(true);
    expect(isLockWaitExceeded(deadlock)).toBe(false);
    expect(isLockWaitExceeded(new Error('boom'))).toBe(false);
  });
});

describe('isConnectionFailure', () => {
  const raw = (code: string): Prisma.PrismaClientKnownRequestError =>
    new Prisma.PrismaClientKnownRequestError('Raw query failed', {
      code: 'P2010',
      clientVersion: '7',
      meta: { code, message: 'server said no' },
    });

  it('takes every connection exception (class 08, a pooler refusing the startup included) and shutdowns, not other errors', () => {
    for (const code of ['08000', '08006', '08P01', '57P01', '53300']) expect(isConnectionFailure(raw(code)), code).toBe(true);
    for (const code of ['23505', '40P01', '55P03', '22P02']) expect(isConnectionFailure(raw(code)), code).toBe(false);
  });
});
