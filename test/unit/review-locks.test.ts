import { describe, expect, it } from 'vitest';

import { ConflictError, IntegrityError, NotFoundError } from '@app/common';
import type { Tx } from '@app/database';
import type { EngineerRow, EngineersRepository } from '@app/engineers';
import type { IncidentRow, IncidentsRepository } from '@app/incidents';
import { assertEngineerCanTake, assertIncidentAssignable, engineerLockOrder, ReviewLocks, type ReviewsRepository } from '@app/reviews';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const tx = {} as Tx;

function engineer(id: string, changes: Partial<EngineerRow> = {}): EngineerRow {
  const at = new Date('2026-12-01T00:00:00Z');
  return {
    id,
    name: id,
    email: `${id}@example.com`,
    expertise: [],
    status: 'active',
    isAvailable: true,
    maxConcurrentReviews: 2,
    currentReviewCount: 0,
    lastAssignedAt: null,
    deletedAt: null,
    createdAt: at,
    updatedAt: at,
    ...changes,
  };
}

function incident(changes: Partial<IncidentRow> = {}): IncidentRow {
  const at = new Date('2026-12-01T00:00:00Z');
  return {
    id: 'incident-1',
    title: 't',
    description: null,
    severity: 'high',
    aiProposal: 'p',
    requiredExpertise: [],
    externalRef: null,
    status: 'pending_approval',
    chosenApproach: null,
    openReviewId: null,
    createdAt: at,
    updatedAt: at,
    ...changes,
  };
}

/** ReviewLocks over an engineers table of `existing` ids that records the order of its row locks. */
function locksOver(existing: string[]): { locks: ReviewLocks; locked: string[] } {
  const locked: string[] = [];
  const engineers = {
    lockById: (_tx: Tx, id: string) => {
      locked.push(id);
      return Promise.resolve(existing.includes(id) ? engineer(id) : undefined);
    },
  } as unknown as EngineersRepository;
  return { locks: new ReviewLocks({} as IncidentsRepository, {} as ReviewsRepository, engineers), locked };
}

describe('the engineer lock order', () => {
  it('is by id, each engineer once, whatever order the use case names them in', () => {
    expect(engineerLockOrder([B, A])).toEqual([A, B]);
    expect(engineerLockOrder([A, B])).toEqual([A, B]);
    expect(engineerLockOrder([B, B])).toEqual([B]);
  });

  it('makes two opposite reassigns lock their engineers in the same order', async () => {
    const forward = locksOver([A, B]);
    const backward = locksOver([A, B]);
    const [current, target] = await forward.locks.engineerPair(tx, B, A);
    await backward.locks.engineerPair(tx, A, B);
    expect(forward.locked).toEqual([A, B]);
    expect(backward.locked).toEqual([A, B]);
    expect([current.id, target.id]).toEqual([B, A]);
  });

  it('locks one engineer once when current and target are the same', async () => {
    const { locks, locked } = locksOver([A]);
    const [current, target] = await locks.engineerPair(tx, A, A);
    expect(locked).toEqual([A]);
    expect(current).toBe(target);
  });

  it('answers an unknown target 404, and a missing current holder as a broken invariant', async () => {
    await expect(locksOver([A]).locks.engineerPair(tx, A, B)).rejects.toBeInstanceOf(NotFoundError);
    await expect(locksOver([B]).locks.engineerPair(tx, A, B)).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('who can take a review', () => {
  const code = (check: () => void): string | undefined => {
    try {
      check();
      return undefined;
    } catch (error) {
      return error instanceof ConflictError ? error.code : 'not a conflict';
    }
  };

  it('is an active, not deleted engineer below capacity', () => {
    expect(code(() => assertEngineerCanTake(engineer(A)))).toBeUndefined();
    expect(code(() => assertEngineerCanTake(engineer(A, { status: 'on_leave' })))).toBe('ENGINEER_UNAVAILABLE');
    expect(code(() => assertEngineerCanTake(engineer(A, { deletedAt: new Date(), status: 'offline' })))).toBe('ENGINEER_UNAVAILABLE');
    expect(code(() => assertEngineerCanTake(engineer(A, { currentReviewCount: 2 })))).toBe('ENGINEER_AT_CAPACITY');
  });

  it('for an incident that is neither closed nor holding an open review', () => {
    expect(code(() => assertIncidentAssignable(incident()))).toBeUndefined();
    expect(code(() => assertIncidentAssignable(incident({ status: 'approved' })))).toBe('INCIDENT_CLOSED');
    expect(code(() => assertIncidentAssignable(incident({ status: 'resolved' })))).toBe('INCIDENT_CLOSED');
    expect(code(() => assertIncidentAssignable(incident({ openReviewId: B })))).toBe('INCIDENT_HAS_OPEN_REVIEW');
  });
});
