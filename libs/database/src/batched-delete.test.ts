import { describe, expect, it } from 'vitest';

import { deleteInBatches } from './batched-delete.js';

/** A table of `rows` rows, deleted from by limit. */
function tableOf(rows: number): { deleteBatch: (limit: number) => Promise<number>; statements: number[] } {
  let left = rows;
  const statements: number[] = [];
  return {
    statements,
    deleteBatch: (limit) => {
      const count = Math.min(limit, left);
      left -= count;
      statements.push(limit);
      return Promise.resolve(count);
    },
  };
}

describe('deleteInBatches', () => {
  it('deletes while batches come back full and stops at the first short one', async () => {
    const table = tableOf(2_500);
    expect(await deleteInBatches(table.deleteBatch, { batchSize: 1_000, maxBatches: 10 })).toEqual([1_000, 1_000, 500]);
    expect(table.statements).toHaveLength(3);
  });

  it('runs one more statement after a last full batch, and leaves its zero out', async () => {
    const table = tableOf(2_000);
    expect(await deleteInBatches(table.deleteBatch, { batchSize: 1_000, maxBatches: 10 })).toEqual([1_000, 1_000]);
    expect(table.statements).toHaveLength(3);
  });

  it('runs at most maxBatches statements a pass, whatever is left', async () => {
    const table = tableOf(10_000);
    expect(await deleteInBatches(table.deleteBatch, { batchSize: 1_000, maxBatches: 2 })).toEqual([1_000, 1_000]);
    expect(table.statements).toHaveLength(2);
  });

  it('ends the pass before the next statement once stopped', async () => {
    const table = tableOf(10_000);
    let stopped = false;
    const deleteBatch = async (limit: number): Promise<number> => {
      stopped = true;
      return table.deleteBatch(limit);
    };
    expect(await deleteInBatches(deleteBatch, { batchSize: 1_000, maxBatches: 10, stopped: () => stopped })).toEqual([1_000]);
  });
});
