/** The contract's retry schedule: from the base delay (1 s), doubling, capped at 10 min, ±20 % jitter. */
export const MAX_RETRY_DELAY_MS = 10 * 60 * 1000;
export const RETRY_JITTER = 0.2;

/**
 * Delay before the next attempt after `failedAttempts` failures (1 for the first failure). The
 * jitter applies to the capped delay, so retries of many events that failed together spread out
 * instead of arriving at the receiver at the same instant. `random` is in [0, 1).
 */
export function retryDelayMs(failedAttempts: number, baseMs: number, random: () => number = Math.random): number {
  const doublings = Math.max(0, failedAttempts - 1);
  // 2^30 already exceeds any cap; bounding the exponent keeps the arithmetic finite.
  const nominal = Math.min(baseMs * 2 ** Math.min(doublings, 30), MAX_RETRY_DELAY_MS);
  const jitter = (random() * 2 - 1) * RETRY_JITTER;
  return Math.round(nominal * (1 + jitter));
}
