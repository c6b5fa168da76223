import { DomainError, type FieldError, ValidationFailedError } from './domain-error.js';
import { fieldName, MAX_FIELD_ERRORS, validationFailed } from './validation-errors.js';

/** The contract's limits on a parsed body. */
export const BODY_LIMITS = { maxKeys: 1_000, maxDepth: 16 } as const;

/** Keys that would reach an object's prototype once class-transformer copies them onto a DTO instance. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain U+0000';

interface Frame {
  value: object;
  depth: number;
  parent?: Frame;
  key?: string;
}

function pathOf(frame: Frame, key: string): string {
  const parts = [key];
  for (let current: Frame | undefined = frame; current?.key !== undefined; current = current.parent) parts.unshift(current.key);
  return fieldName(parts.join('.'));
}

/**
 * One linear pass over a parsed JSON body, before any validation: at most 1 000 keys in all and
 * 16 levels of nesting (beyond, a 400 without field errors, found without walking further), no
 * `__proto__`/`constructor`/`prototype` key and no U+0000 in any key or string (a 400 naming them).
 * Every value is visited once, so the cost is proportional to the body's size whatever its shape.
 */
export function bodyLimitViolation(body: unknown): DomainError | undefined {
  // A whole body that is not an object is refused by the validation pipe, where the route's DTO is known.
  if (body === null || typeof body !== 'object') return undefined;
  const errors: FieldError[] = [];
  let failed = 0;
  // Only the listed errors need their path; the rest are counted.
  const fail = (frame: Frame, key: string, message: string) => {
    failed += 1;
    if (errors.length < MAX_FIELD_ERRORS) errors.push({ field: pathOf(frame, key), message });
  };
  const stack: Frame[] = [{ value: body, depth: 1 }];
  let keys = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > BODY_LIMITS.maxDepth) {
      return new ValidationFailedError(`The body is nested more than ${BODY_LIMITS.maxDepth} levels deep`);
    }
    const isArray = Array.isArray(frame.value);
    const entries = isArray ? (frame.value as unknown[]) : Object.keys(frame.value);
    if (!isArray) {
      keys += entries.length;
      if (keys > BODY_LIMITS.maxKeys) return new ValidationFailedError(`The body has more than ${BODY_LIMITS.maxKeys} keys in all`);
    }
    for (let index = 0; index < entries.length; index += 1) {
      const key = isArray ? String(index) : (entries[index] as string);
      const value: unknown = isArray ? entries[index] : (frame.value as Record<string, unknown>)[key];
      if (!isArray && FORBIDDEN_KEYS.has(key)) fail(frame, key, 'is not allowed');
      else if (!isArray && key.includes(NUL)) fail(frame, key, NUL_MESSAGE);
      else if (typeof value === 'string') {
        if (value.includes(NUL)) fail(frame, key, NUL_MESSAGE);
      } else if (value !== null && typeof value === 'object') {
        stack.push({ value, depth: frame.depth + 1, parent: frame, key });
      }
    }
  }
  return failed > 0 ? validationFailed(errors, failed) : undefined;
}
