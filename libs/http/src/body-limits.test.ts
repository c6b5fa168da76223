import { describe, expect, it } from 'vitest';

import { bodyContentViolation, bodyLimitViolation } from './body-limits.js';

const limit = (text: string) => bodyLimitViolation(Buffer.from(text))?.detail;

describe('body limits on the raw bytes', () => {
  it('counts object keys and array elements, nested ones included, but nothing inside strings', () => {
    const keys = (count: number) => `{${Array.from({ length: count }, (_, i) => `"k${i}":"a:b,{[\\"}"`).join(',')}}`;
    expect(limit(keys(1000))).toBeUndefined();
    expect(limit(keys(1001))).toMatch(/more than 1000 keys/);
    const elements = (count: number) => `{"a":[${Array.from({ length: count }, () => '[]').join(' , ')}]}`;
    expect(limit(elements(999))).toBeUndefined();
    expect(limit(elements(1000))).toMatch(/more than 1000 keys/);
    expect(limit('{"a":[ ],"b":[]}')).toBeUndefined();
  });

  it('allows 16 levels of nesting and refuses 17', () => {
    const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    expect(limit(nested(16))).toBeUndefined();
    expect(limit(nested(17))).toMatch(/more than 16 levels/);
    expect(limit(`{"a":"${'['.repeat(40)}"}`)).toBeUndefined();
  });
});

describe('body content', () => {
  it('names forbidden keys and U+0000 by their path, and counts past the 20 it lists', () => {
    const problem = bodyContentViolation(JSON.parse('{"a":[{"__proto__":1},"x\\u0000"],"constructor":{"b\\u0000":2}}'));
    expect(problem?.errors).toEqual(
      expect.arrayContaining([
        { field: 'a.0.__proto__', message: 'is not allowed' },
        { field: 'a.1', message: 'must not contain U+0000' },
        { field: 'constructor', message: 'is not allowed' },
      ]),
    );
    const many = bodyContentViolation({ tags: Array.from({ length: 30 }, () => '\u0000') });
    expect(many?.errors).toHaveLength(20);
    expect(many?.detail).toMatch(/; and 10 more$/);
    expect(bodyContentViolation({ name: 'tab\there', list: ['\n'] })).toBeUndefined();
  });
});
