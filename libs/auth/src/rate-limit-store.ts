import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';

import { ServiceUnavailableError } from '@app/common';
import type { AppConfig } from '@app/config';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const KEY_PREFIX = 'rate-limit:';
const SWEEP_INTERVAL_MS = 60_000;

interface WindowHit {
  hits: number;
  msLeft: number;
}

/**
 * Fixed window: the first hit opens a window of `windowMs`, every hit in it counts (rejected ones
 * too), and the count starts again from zero when it ends. A caller over the limit is blocked
 * until the end of the current window, never longer, which is what Retry-After says. (The stock
 * stores of @nestjs/throttler and @nest-lab/throttler-storage-redis keep a sliding log or block
 * for a duration counted from the rejected call, so neither is a fixed window.)
 */
function toRecord({ hits, msLeft }: WindowHit, limit: number): ThrottlerStorageRecord {
  const secondsLeft = Math.max(1, Math.ceil(msLeft / 1000));
  const isBlocked = hits > limit;
  return { totalHits: hits, timeToExpire: secondsLeft, isBlocked, timeToBlockExpire: isBlocked ? secondsLeft : 0 };
}

/** One process counts alone (no REDIS_URL): each replica enforces the limit separately. */
export class MemoryFixedWindowStore implements ThrottlerStorage {
  private readonly windows = new Map<string, { hits: number; endsAt: number }>();
  private nextSweepAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    this.evictEndedWindows(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { hits: 0, endsAt: now + ttl };
      this.windows.set(key, window);
    }
    window.hits += 1;
    return Promise.resolve(toRecord({ hits: window.hits, msLeft: window.endsAt - now }, limit));
  }

  /** Subjects that stopped calling would otherwise stay in the map for the life of the process. */
  private evictEndedWindows(now: number): void {
    if (now < this.nextSweepAt) return;
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now) this.windows.delete(key);
    }
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
  }
}

/**
 * INCR and the window's expiry in one atomic step, so concurrent replicas share one count. A key
 * that somehow has no expiry (PTTL -1) gets one, so a window can never last forever.
 */
const FIXED_WINDOW_HIT = `
local hits = redis.call('INCR', KEYS[1])
local msLeft = redis.call('PTTL', KEYS[1])
if msLeft < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  msLeft = tonumber(ARGV[1])
end
return { hits, msLeft }`;

/**
 * REDIS_URL: the limit is shared by every replica. Options in the URL's query reach ioredis (for
 * example `?keyPrefix=staging:` when several deployments share one Redis). The connection is made
 * at start (an unreachable Redis stops the process) and closed after the HTTP server, so requests
 * still in flight at shutdown finish. While Redis is unreachable, limited calls answer 503 rather
 * than go unlimited or hang: commands fail fast instead of queueing.
 */
export class RedisFixedWindowStore implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisFixedWindowStore.name);
  private readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 });
    // Without a listener ioredis reports every failed reconnection attempt as an unhandled error.
    this.redis.on('error', (error: Error) => this.logger.warn(`Rate-limit Redis: ${error.message}`));
  }

  async onModuleInit(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      this.redis.disconnect();
      throw new Error(`REDIS_URL: cannot connect to the rate-limit Redis (${(error as Error).message})`);
    }
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    let result: unknown;
    try {
      result = await this.redis.eval(FIXED_WINDOW_HIT, 1, `${KEY_PREFIX}${key}`, ttl);
    } catch (error) {
      this.logger.error(`Rate-limit Redis unavailable: ${(error as Error).message}`);
      throw new ServiceUnavailableError('The rate-limit store is unavailable; retry shortly');
    }
    const [hits, msLeft] = result as [number, number];
    return toRecord({ hits, msLeft }, limit);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }
}

/**
 * The store behind the assignment rate limit. ThrottlerModule registers it as its storage provider,
 * which is what runs its connect and shutdown hooks (once: it must not be a provider elsewhere too).
 */
export function createAssignRateLimitStore(config: AppConfig): ThrottlerStorage {
  return config.redisUrl ? new RedisFixedWindowStore(config.redisUrl) : new MemoryFixedWindowStore();
}
