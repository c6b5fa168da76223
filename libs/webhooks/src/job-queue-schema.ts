import { Inject, Injectable, Logger } from '@nestjs/common';
import { type LogFunctionFactory, Logger as GraphileLogger, runMigrations } from 'graphile-worker';
import type pg from 'pg';

import { WEBHOOK_POOL } from './webhook-pool.js';

/**
 * graphile-worker's schema, which the enqueuer (it adds delivery jobs) and the dispatcher need.
 * Installed (or upgraded) once per process; until it is, events are recorded in the outbox and
 * queued once it is.
 */
@Injectable()
export class JobQueueSchema {
  private installing?: Promise<void>;
  private installed = false;

  constructor(@Inject(WEBHOOK_POOL) private readonly pool: pg.Pool) {}

  get isInstalled(): boolean {
    return this.installed;
  }

  /** Concurrent callers share one attempt; a failed attempt is forgotten so the next call retries. */
  async ensureInstalled(): Promise<void> {
    if (this.installed) return;
    this.installing ??= runMigrations({ pgPool: this.pool, logger: graphileLogger() }).then(
      () => {
        this.installed = true;
      },
      (error: unknown) => {
        this.installing = undefined;
        throw error;
      },
    );
    await this.installing;
  }
}

/** graphile-worker logs through Nest's logger; its per-job "info" lines are debug here. */
export function graphileLogger(): GraphileLogger {
  const logger = new Logger('GraphileWorker');
  const factory: LogFunctionFactory = () => (level, message) => {
    const name: string = level;
    if (name === 'error') logger.error(message);
    else if (name === 'warning') logger.warn(message);
    else logger.debug(message);
  };
  return new GraphileLogger(factory);
}
