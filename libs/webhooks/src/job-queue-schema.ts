import { Inject, Injectable, Logger } from '@nestjs/common';
import { type LogFunctionFactory, Logger as GraphileLogger, runMigrations } from 'graphile-worker';
import type pg from 'pg';

import { ServiceUnavailableError } from '@app/common';

import { WEBHOOK_POOL } from './webhook-pool.js';

/**
 * graphile-worker's schema, which the outbox writes (delivery jobs are added in the API's
 * transactions) and the dispatcher both need. Installed (or upgraded) once per process; until it
 * is, a write that records an event gets a 503, like any request while the database is away.
 */
@Injectable()
export class JobQueueSchema {
  private readonly logger = new Logger(JobQueueSchema.name);
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

  /** For a request: the schema is there, or a 503 problem (the database is unavailable). */
  async requireInstalled(): Promise<void> {
    try {
      await this.ensureInstalled();
    } catch (error) {
      this.logger.error(`Webhook job queue not installed: ${(error as Error).message}`);
      throw new ServiceUnavailableError('The webhook job queue is not available yet; retry later');
    }
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
