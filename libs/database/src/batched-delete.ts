export interface BatchedDeleteOptions {
  batchSize: number;
  /** Statements per pass, however many rows are left: a pass never holds the database for long. */
  maxBatches: number;
  /** Checked before each statement after the first: true ends the pass (the process is stopping). */
  stopped?: () => boolean;
}

/**
 * One retention pass: `deleteBatch(limit)` deletes at most `limit` rows and says how many it did; it
 * runs again while batches come back full, at most `maxBatches` times. Resolves to each statement's
 * count, the last short batch included unless it deleted nothing.
 */
export async function deleteInBatches(deleteBatch: (limit: number) => Promise<number>, options: BatchedDeleteOptions): Promise<number[]> {
  const deleted: number[] = [];
  for (let batch = 0; batch < options.maxBatches; batch += 1) {
    if (batch > 0 && options.stopped?.()) break;
    const count = await deleteBatch(options.batchSize);
    if (count > 0) deleted.push(count);
    if (count < options.batchSize) break;
  }
  return deleted;
}
