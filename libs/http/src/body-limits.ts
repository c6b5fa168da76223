import { type DomainError, type FieldError, ValidationFailedError } from '@app/common';

import { fieldName, MAX_FIELD_ERRORS, validationFailed } from './validation-errors.js';

/**
 * The contract's limits on a body: 1 000 keys in all, nested ones included, where an array's
 * elements count as its keys (no valid body comes close, and otherwise a 1 MiB array of 350 000
 * empty objects would cost the validation pipe seconds), and 16 levels of nesting.
 */
export const BODY_LIMITS = { maxKeys: 1_000, maxDepth: 16 } as const;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The limits, checked on the raw bytes before JSON.parse (which alone takes longer than the
 * contract's 100 ms on a 1 MiB body of 90 000 keys or 500 000 levels): one pass that only tracks
 * strings, nesting and separators. Malformed JSON may pass or fail here; JSON.parse decides.
 */
export function bodyLimitViolation(bytes: Uint8Array): DomainError | undefined {
  let depth = 0;
  let keys = 0;
  let inString = false;
  let escaped = false;
  let elementMayStart = false;
  const isArrayAt: boolean[] = [];
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === BACKSLASH) escaped = true;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === SPACE || byte === LF || byte === CR || byte === TAB) continue;
    if (elementMayStart) {
      elementMayStart = false;
      if (byte !== CLOSE_ARRAY && ++keys > BODY_LIMITS.maxKeys) return tooManyKeys();
    }
    switch (byte) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        depth += 1;
        if (depth > BODY_LIMITS.maxDepth)
          return new ValidationFailedError(`The body is nested more than ${BODY_LIMITS.maxDepth} levels deep`);
        isArrayAt[depth] = byte === OPEN_ARRAY;
        elementMayStart = byte === OPEN_ARRAY;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth -= 1;
        break;
      case COLON:
        if (++keys > BODY_LIMITS.maxKeys) return tooManyKeys();
        break;
      case COMMA:
        elementMayStart = isArrayAt[depth] === true;
        break;
    }
  }
  return undefined;
}

function tooManyKeys(): DomainError {
  return new ValidationFailedError(`The body has more than ${BODY_LIMITS.maxKeys} keys in all (array elements included)`);
}

/** Keys that would reach an object's prototype once class-transformer copies them onto a DTO instance. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain U+0000';

interface Frame {
  value: object;
  parent?: Frame;
  key?: string;
}

function pathOf(frame: Frame, key: string): string {
  const parts = [key];
  for (let current: Frame | undefined = frame; current?.key !== undefined; current = current.parent) parts.unshift(current.key);
  return fieldName(parts.join('.'));
}

/**
 * One pass over the parsed body (within the limits above), before validation: no
 * `__proto__`/`constructor`/`prototype` key anywhere (JSON.parse makes them plain own properties)
 * and no U+0000 in any key or string (PostgreSQL refuses it in text and jsonb), each named by its path.
 */
export function bodyContentViolation(body: unknown): DomainError | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const errors: FieldError[] = [];
  let failed = 0;
  // Only the listed errors need their path; the rest are counted.
  const fail = (frame: Frame, key: string, message: string) => {
    failed += 1;
    if (errors.length < MAX_FIELD_ERRORS) errors.push({ field: pathOf(frame, key), message });
  };
  const stack: Frame[] = [{ value: body }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const isArray = Array.isArray(frame.value);
    const entries = isArray ? (frame.value as unknown[]) : Object.keys(frame.value);
    for (let index = 0; index < entries.length; index += 1) {
      const key = isArray ? String(index) : (entries[index] as string);
      const value: unknown = isArray ? entries[index] : (frame.value as Record<string, unknown>)[key];
      if (!isArray && FORBIDDEN_KEYS.has(key)) fail(frame, key, 'is not allowed');
      else if (!isArray && key.includes(NUL)) fail(frame, key, NUL_MESSAGE);
      else if (typeof value === 'string') {
        if (value.includes(NUL)) fail(frame, key, NUL_MESSAGE);
      } else if (value !== null && typeof value === 'object') {
        stack.push({ value, parent: frame, key });
      }
    }
  }
  return failed > 0 ? validationFailed(errors, failed) : undefined;
}
