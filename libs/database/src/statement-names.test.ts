import { describe, expect, it } from 'vitest';

import { statementNames } from './statement-names.js';

describe('statementNames', () => {
  it('gives one stable name per SQL text and none past the bound', () => {
    const name = statementNames(2);
    const first = name({ sql: 'SELECT 1' });
    const second = name({ sql: 'SELECT 2' });
    expect(first).not.toBe('');
    expect(second).not.toBe('');
    expect(second).not.toBe(first);
    expect(name({ sql: 'SELECT 1' })).toBe(first);
    expect(name({ sql: 'SELECT 3' })).toBe('');
    expect(name({ sql: 'SELECT 2' })).toBe(second);
  });
});
