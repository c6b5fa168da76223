import { describe, expect, it } from 'vitest';

import { lineDiff } from './decision.view.js';

describe('lineDiff', () => {
  it('prefixes every line of both texts with "-", "+" or " "', () => {
    expect(lineDiff('restart db\ncheck replicas\nnotify', 'fail over\ncheck replicas\nnotify')).toBe(
      '-restart db\n+fail over\n check replicas\n notify',
    );
  });

  it('shows identical texts as context only, and a change of the last line without a newline', () => {
    expect(lineDiff('a\nb', 'a\nb')).toBe(' a\n b');
    expect(lineDiff('a\nb', 'a\nc')).toBe(' a\n-b\n+c');
  });
});
