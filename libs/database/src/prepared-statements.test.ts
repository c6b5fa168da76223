import { describe, expect, it } from 'vitest';

import { preparedStatementNames } from './prepared-statements.js';

describe('preparedStatementNames', () => {
  it('gives each distinct text one stable name, and none beyond the limit', () => {
    const name = preparedStatementNames(2);
    expect(name({ sql: 'SELECT 1' })).toBe('ers_0');
    expect(name({ sql: 'SELECT 2' })).toBe('ers_1');
    expect(name({ sql: 'SELECT 1' })).toBe('ers_0');
    expect(name({ sql: 'SELECT 3' })).toBe('');
    expect(name({ sql: 'SELECT 2' })).toBe('ers_1');
  });
});
