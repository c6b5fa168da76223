import { describe, expect, it } from 'vitest';

import { isLockWaitExceeded } from './database-error.js';
import { Prisma } from './generated/prisma/client.js';

describe('isLockWaitExceeded', () => {
  it('recognises an expired interactive transaction (P2028) and lock_not_available (55P03), nothing else', () => {
    const expired = new Prisma.PrismaClientKnownRequestError('Transaction already closed', { code: 'P2028', clientVersion: '7' });
    const lockTimeout = new Prisma.PrismaClientKnownRequestError('Raw query failed', {
      code: 'P2010',
      clientVersion: '7',
      meta: { code: '55P03', message: 'canceling statement due to lock timeout' },
    });
    const deadlock = new Prisma.PrismaClientKnownRequestError('Raw query failed', { code: 'P2010', clientVersion: '7', meta: { code: '40P01' } });
    expect(isLockWaitExceeded(expired)).toBe(true);
    expect(isLockWaitExceeded(lockTimeout)).toBe(true);
    expect(isLockWaitExceeded(deadlock)).toBe(false);
    expect(isLockWaitExceeded(new Error('boom'))).toBe(false);
  });
});
