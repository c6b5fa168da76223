import { describe, expect, it } from 'vitest';

import { ReviewStatus } from '@app/database';

import { InvalidTransitionError } from './review.errors.js';
import { assertMovable, assertTransition, canTransition } from './review-state-machine.js';

const ALL = Object.values(ReviewStatus);
const ALLOWED = new Set([
  'assigned>in_progress',
  'assigned>submitted',
  'assigned>cancelled',
  'in_progress>submitted',
  'in_progress>cancelled',
  'submitted>accepted',
  'submitted>rejected',
  'submitted>cancelled',
]);

describe('review state machine', () => {
  for (const from of ALL) {
    for (const to of ALL) {
      const allowed = ALLOWED.has(`${from}>${to}`);
      it(`${from} -> ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        expect(canTransition(from, to)).toBe(allowed);
        if (allowed) expect(() => assertTransition('r1', from, to)).not.toThrow();
        else {
          const error = (() => {
            try {
              assertTransition('r1', from, to);
            } catch (caught) {
              return caught;
            }
          })();
          expect(error).toBeInstanceOf(InvalidTransitionError);
          expect((error as InvalidTransitionError).code).toBe('INVALID_TRANSITION');
          expect((error as InvalidTransitionError).detail).toContain(from);
          expect((error as InvalidTransitionError).detail).toContain(to);
        }
      });
    }
  }

  it('only assigned and in_progress reviews can be reassigned', () => {
    for (const status of ALL) {
      const movable = status === 'assigned' || status === 'in_progress';
      if (movable) expect(() => assertMovable('r1', status)).not.toThrow();
      else expect(() => assertMovable('r1', status)).toThrow(InvalidTransitionError);
    }
  });
});
