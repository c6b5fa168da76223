import { describe, expect, it } from 'vitest';

import { pageWindow, toPage } from './pagination.js';

describe('pageWindow', () => {
  it('answers page 1 of 1 for an empty result, whatever page was asked for', () => {
    expect(pageWindow(0, 1, 20)).toEqual({ page: 1, pageSize: 20, totalPages: 1, offset: 0 });
    expect(pageWindow(0, 7, 20)).toEqual({ page: 1, pageSize: 20, totalPages: 1, offset: 0 });
  });

  it('counts a partial last page', () => {
    expect(pageWindow(41, 3, 20)).toEqual({ page: 3, pageSize: 20, totalPages: 3, offset: 40 });
    expect(pageWindow(40, 2, 20)).toEqual({ page: 2, pageSize: 20, totalPages: 2, offset: 20 });
  });

  it('clamps a page past the end to the last page', () => {
    expect(pageWindow(5, 99, 2)).toEqual({ page: 3, pageSize: 2, totalPages: 3, offset: 4 });
    expect(pageWindow(5, Number.MAX_SAFE_INTEGER, 100)).toEqual({ page: 1, pageSize: 100, totalPages: 1, offset: 0 });
  });
});

describe('toPage', () => {
  it('shapes the contract body from the window', () => {
    expect(toPage(['a'], 3, pageWindow(3, 2, 2))).toEqual({ items: ['a'], total: 3, page: 2, pageSize: 2, totalPages: 2 });
  });
});
