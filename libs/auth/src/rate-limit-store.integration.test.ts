import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import { DomainError } from '@app/common';

import { MemoryFixedWindowStore, RedisFixedWindowStore } from './rate-limit-store.js';

const REDIS_SERVER = 'redis://127.0.0.1:6379/0';

describe('MemoryFixedWindowStore', () => {
  it('counts every hit in a fixed window and blocks until the window ends, not longer', async () => {
    let now = 1_000_000;
    const store = new MemoryFixedWindowStore(() => now);
    const hit = (key = 'a') => store.increment(key, 10_000, 3);

    expect(await hit()).toEqual({ totalHits: 1, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 });
    now += 4_000;
    expect((await hit()).isBlocked).toBe(false);
    expect((await hit()).isBlocked).toBe(false);
    now += 2_500;
    expect(await hit()).toEqual({ totalHits: 4, timeToExpire: 4, isBlocked: true, timeToBlockExpire: 4 });
    expect(await hit('b')).toMatchObject({ totalHits: 1, isBlocked: false });
    now += 3_400;
    expect(await hit()).toMatchObject({ totalHits: 5, isBlocked: true, timeToBlockExpire: 1 });
    // The window opened at the first hit ends 10 s later, whatever happened in it.
    now += 100;
    expect(await hit()).toEqual({ totalHits: 1, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 });
  });
});

describe('RedisFixedWindowStore', () => {
  const prefix = `ers-test-${randomUUID()}:`;
  const url = `${REDIS_SERVER}?keyPrefix=${prefix}`;
  const admin = new Redis(REDIS_SERVER);
  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  async function connected(): Promise<RedisFixedWindowStore> {
    const store = new RedisFixedWindowStore(url);
    await store.onModuleInit();
    return store;
  }

  it('shares one fixed window between instances and expires it with the window', async () => {
    const [a, b] = [await connected(), await connected()];
    try {
      const results = [];
      for (const store of [a, b, a, b]) results.push(await store.increment('shared', 800, 3));
      expect(results.map((r) => [r.totalHits, r.isBlocked])).toEqual([
        [1, false],
        [2, false],
        [3, false],
        [4, true],
      ]);
      expect(results[3]).toMatchObject({ timeToExpire: 1, timeToBlockExpire: 1 });
      const ttl = await admin.pttl(`${prefix}rate-limit:shared`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(800);
      await new Promise((resolve) => setTimeout(resolve, ttl + 50));
      expect(await b.increment('shared', 800, 3)).toMatchObject({ totalHits: 1, isBlocked: false });
    } finally {
      await a.onApplicationShutdown();
      await b.onApplicationShutdown();
    }
  });

  it('gives a key that lost its expiry a new one instead of blocking forever', async () => {
    const store = await connected();
    try {
      await admin.set(`${prefix}rate-limit:stuck`, '10');
      expect(await store.increment('stuck', 5_000, 3)).toMatchObject({ totalHits: 11, isBlocked: true, timeToBlockExpire: 5 });
      expect(await admin.pttl(`${prefix}rate-limit:stuck`)).toBeGreaterThan(0);
    } finally {
      await store.onApplicationShutdown();
    }
  });

  it('answers 503 once the connection is gone, and refuses to start without Redis', async () => {
    const store = await connected();
    await store.onApplicationShutdown();
    const failure = await store.increment('gone', 1_000, 3).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DomainError);
    expect(failure).toMatchObject({ kind: 'unavailable', code: 'SERVICE_UNAVAILABLE' });

    const unreachable = new RedisFixedWindowStore('redis://127.0.0.1:1/0');
    await expect(unreachable.onModuleInit()).rejects.toThrow(/REDIS_URL: cannot connect/);
    await unreachable.onApplicationShutdown();
  });
});
