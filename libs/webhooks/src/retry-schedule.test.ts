import { describe, expect, it } from 'vitest';

import { MAX_RETRY_DELAY_MS, retryDelayMs } from './retry-schedule.js';

const noJitter = (): number => 0.5;
const lowest = (): number => 0;
const highest = (): number => 0.999_999;

describe('webhook retry schedule', () => {
  it('starts at the base delay and doubles after each failure', () => {
    expect([1, 2, 3, 4, 5, 10].map((failures) => retryDelayMs(failures, 1_000, noJitter))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 512_000,
    ]);
    expect(retryDelayMs(3, 50, noJitter)).toBe(200);
  });

  it('is capped at 10 minutes from the 11th failure on, however many there were', () => {
    expect(retryDelayMs(11, 1_000, noJitter)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(500, 1_000, noJitter)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(Number.MAX_SAFE_INTEGER, 1_000, noJitter)).toBe(MAX_RETRY_DELAY_MS);
  });

  it('adds at most ±20 % jitter', () => {
    expect(retryDelayMs(1, 1_000, lowest)).toBe(800);
    expect(retryDelayMs(1, 1_000, highest)).toBe(1_200);
    expect(retryDelayMs(20, 1_000, lowest)).toBe(480_000);
    expect(retryDelayMs(20, 1_000, highest)).toBe(720_000);
    const delays = Array.from({ length: 200 }, () => retryDelayMs(4, 1_000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(6_400);
    expect(Math.max(...delays)).toBeLessThanOrEqual(9_600);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it('keeps retrying for more than 24 hours within the first 190 attempts even with the shortest jitter', () => {
    let elapsedMs = 0;
    let attempts = 1;
    while (elapsedMs < 24 * 3_600_000) {
      elapsedMs += retryDelayMs(attempts, 1_000, lowest);
      attempts += 1;
    }
    expect(attempts).toBeLessThanOrEqual(190);
    let nominalMs = 0;
    let nominalAttempts = 1;
    while (nominalMs < 24 * 3_600_000) {
      nominalMs += retryDelayMs(nominalAttempts, 1_000, noJitter);
      nominalAttempts += 1;
    }
    expect(nominalAttempts).toBe(154);
  });
});
