/**
 * Keyset pagination over seq: each query asks for the rows after the last one seen, so memory holds
 * one batch however many rows there are, and no OFFSET is rescanned.
 */
export async function* keysetBatches<T extends { seq: bigint }>(
  fetch: (after: bigint | null) => Promise<T[]>,
  batchSize: number,
): AsyncGenerator<T[], void> {
  let after: bigint | null = null;
  for (;;) {
    const rows = await fetch(after);
    if (rows.length > 0) yield rows;
    if (rows.length < batchSize) return;
    after = rows[rows.length - 1]!.seq;
  }
}

export async function* keysetRows<T extends { seq: bigint }>(
  fetch: (after: bigint | null) => Promise<T[]>,
  batchSize: number,
): AsyncGenerator<T, void> {
  for await (const rows of keysetBatches(fetch, batchSize)) yield* rows;
}
