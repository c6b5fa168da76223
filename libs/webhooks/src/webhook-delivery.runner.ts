import { setTimeout as sleep } from 'node:timers/promises';

import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Logger as GraphileLogger, type LogFunctionFactory, run, type Runner, runMigrations } from 'graphile-worker';
import type pg from 'pg';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { DELIVER_REVIEW_TASK, parseDeliverReviewPayload } from './delivery-queue.js';
import { DeliveryRepository } from './delivery.repository.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WEBHOOK_POOL, WEBHOOK_POOL_SIZE } from './webhook-pool.js';

/** Jobs run at once per replica: each holds no connection while its request is in flight. */
const CONCURRENCY = WEBHOOK_POOL_SIZE;
const SWEEP_INTERVAL_MS = 30_000;
const RESTART_DELAY_MS = 5_000;
/**
 * A job locked this long belongs to a dead worker (see releaseStaleLocks): far beyond what a live
 * run takes (30 s budget + one request of at most 60 s + a few bounded queries).
 */
const STALE_LOCK_MS = 5 * 60_000;

/**
 * Runs webhook delivery in this replica: installs graphile-worker's schema (which the outbox writes
 * need), runs its worker with the delivery task, and sweeps for jobs left behind by dead workers.
 * Starts after the application is up, only when WEBHOOK_URL is set (the worker itself only with
 * WEBHOOK_DELIVERY_ENABLED), and stops with the application: in-flight requests are abandoned at
 * once and their events re-queued, so a shutdown never waits for a slow receiver.
 */
@Injectable()
export class WebhookDeliveryRunner implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliveryRunner.name);
  private readonly stopping = new AbortController();
  private queueInstalled = false;
  private runner?: Runner;
  private starting?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(WEBHOOK_POOL) private readonly pool: pg.Pool,
    private readonly delivery: WebhookDeliveryService,
    private readonly deliveries: DeliveryRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether graphile-worker's tables exist, i.e. whether delivery jobs can be queued and read. */
  get queueReady(): boolean {
    return this.queueInstalled;
  }

  /** Before the server listens, so the first request that records an event finds the job queue. */
  async onModuleInit(): Promise<void> {
    if (!this.config.webhook.url) return;
    try {
      await this.installQueue();
    } catch (error) {
      // Like the API's own pool, a database that is down at start is reported, not fatal: see keepStarting.
      this.logger.error(`Webhook job queue not installed yet: ${(error as Error).message}`);
    }
  }

  onApplicationBootstrap(): void {
    if (!this.config.webhook.url) return;
    this.starting = this.keepStarting();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.sweepTimer);
    await this.starting;
    await this.sweeping;
    const runner = this.runner;
    this.runner = undefined;
    if (runner) await runner.stop().catch((error: Error) => this.logger.error(`Webhook worker did not stop cleanly: ${error.message}`));
    await this.pool.end();
  }

  private async installQueue(): Promise<void> {
    if (this.queueInstalled) return;
    await runMigrations({ pgPool: this.pool, logger: this.graphileLogger() });
    this.queueInstalled = true;
  }

  /** Retries until the queue is installed and the worker runs, or the application stops. */
  private async keepStarting(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        await this.installQueue();
        if (this.config.webhook.deliveryEnabled) await this.startWorker();
        return;
      } catch (error) {
        this.logger.error(`Webhook delivery could not start, retrying in ${RESTART_DELAY_MS} ms: ${(error as Error).message}`);
        await sleep(RESTART_DELAY_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private async startWorker(): Promise<void> {
    const runner = await run({
      pgPool: this.pool,
      concurrency: CONCURRENCY,
      noHandleSignals: true,
      // New jobs wake the worker through LISTEN/NOTIFY; retries that become due are found by polling,
      // so poll at the base back-off (1 s by default) to keep the first retries near their schedule.
      pollInterval: Math.min(1_000, Math.max(50, this.config.webhook.backoffBaseMs)),
      parsedCronItems: [],
      logger: this.graphileLogger(),
      // Batched completion reports a database error to the worker pool, which stops and is restarted
      // below; unbatched (the default), graphile-worker 0.17 leaves it as an unhandled rejection.
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      taskList: {
        [DELIVER_REVIEW_TASK]: (payload, helpers) =>
          this.delivery.deliverReview(parseDeliverReviewPayload(payload).reviewId, AbortSignal.any([this.stopping.signal, helpers.abortSignal])),
      },
    });
    if (this.stopping.signal.aborted) {
      await runner.stop();
      return;
    }
    this.runner = runner;
    void runner.promise.then(
      () => this.restartUnlessStopping(runner, 'exited'),
      (error: Error) => this.restartUnlessStopping(runner, `failed: ${error.message}`),
    );
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    this.sweep();
  }

  /** The worker stops by itself only on errors it cannot recover from (e.g. a lost database); start it again. */
  private restartUnlessStopping(runner: Runner, how: string): void {
    if (this.stopping.signal.aborted || this.runner !== runner) return;
    this.logger.error(`Webhook worker ${how}; restarting`);
    this.runner = undefined;
    clearInterval(this.sweepTimer);
    this.starting = this.keepStarting();
  }

  private sweep(): void {
    if (this.sweeping || this.stopping.signal.aborted) return;
    this.sweeping = this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
  }

  private async sweepOnce(): Promise<void> {
    try {
      const deadWorkers = await this.deliveries.releaseStaleLocks(STALE_LOCK_MS);
      if (deadWorkers.length > 0) this.logger.warn(`Released webhook jobs locked by dead workers: ${deadWorkers.join(', ')}`);
      const requeued = await this.deliveries.requeueOrphans();
      if (requeued.length > 0) this.logger.warn(`Re-queued webhook delivery of ${requeued.length} review(s) that had no job`);
    } catch (error) {
      this.logger.error(`Webhook sweep failed: ${(error as Error).message}`);
    }
  }

  /** graphile-worker logs through Nest's logger; its per-job "info" lines are debug here. */
  private graphileLogger(): GraphileLogger {
    const logger = new Logger('GraphileWorker');
    const factory: LogFunctionFactory = () => (level, message) => {
      const name: string = level;
      if (name === 'error') logger.error(message);
      else if (name === 'warning') logger.warn(message);
      else logger.debug(message);
    };
    return new GraphileLogger(factory);
  }
}
