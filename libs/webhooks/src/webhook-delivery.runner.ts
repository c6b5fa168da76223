import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { run, type Runner, type WorkerEvents } from 'graphile-worker';
import type pg from 'pg';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { WebhookMetrics } from '@app/observability';

import { DeliveryRepository } from './delivery.repository.js';
import { DELIVER_BATCH_TASK, DELIVER_REVIEW_TASK, parseDeliverBatchPayload, parseDeliverReviewPayload } from './delivery-queue.js';
import { graphileLogger, JobQueueSchema } from './job-queue-schema.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WEBHOOK_POOL, WEBHOOK_POOL_SIZE } from './webhook-pool.js';

/** Jobs run at once per replica: each holds no connection while its request is in flight. */
const CONCURRENCY = WEBHOOK_POOL_SIZE;
const RESTART_DELAY_MS = 5_000;
const HEARTBEAT_INTERVAL_MS = 5_000;
/**
 * A worker pool that has not beaten for this long is dead and its job locks are released. Far
 * beyond the heartbeat interval, so that a live pool on a slow database is not taken for dead
 * (which would let a second worker deliver its review's events alongside it).
 */
const DEAD_AFTER_MS = 60_000;
const SWEEP_INTERVAL_MS = 15_000;
/** Events younger than this are not orphans yet: their job may be between two runs. */
const ORPHAN_AGE_MS = 30_000;

/** One run of graphile-worker in this replica, from start until it stops or fails. */
interface WorkerRun {
  runner: Runner;
  /** graphile-worker's pool id: `locked_by` of the jobs this run holds. */
  workerId: string;
  /** Aborts this run's tasks (in-flight requests) when the run ends. */
  abort: AbortController;
  tasks: Set<Promise<void>>;
  heartbeat: NodeJS.Timeout;
}

/**
 * Runs webhook delivery in this replica: installs graphile-worker's schema (which the outbox writes
 * need), runs its worker with the delivery task, beats for it, and sweeps for jobs left behind by
 * dead workers. Starts after the application is up, only when WEBHOOK_URL is set (the worker itself
 * only with WEBHOOK_DELIVERY_ENABLED), and stops with the application: in-flight requests are
 * abandoned at once and their events re-queued, so a shutdown never waits for a slow receiver.
 *
 * When the worker fails by itself (it stops when it cannot complete or fail jobs, e.g. after the
 * database restarted), its tasks are aborted, the jobs it still holds are released, and a new
 * worker starts: delivery resumes as soon as the database answers, without a restart.
 */
@Injectable()
export class WebhookDeliveryRunner implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliveryRunner.name);
  private readonly stopping = new AbortController();
  private current?: WorkerRun;
  private starting?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(WEBHOOK_POOL) private readonly pool: pg.Pool,
    private readonly queueSchema: JobQueueSchema,
    private readonly delivery: WebhookDeliveryService,
    private readonly deliveries: DeliveryRepository,
    private readonly metrics: WebhookMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Before the server listens, so that the first events written are queued at once. */
  async onModuleInit(): Promise<void> {
    if (!this.config.webhook.url) return;
    try {
      await this.queueSchema.ensureInstalled();
    } catch (error) {
      // Like the API's own pool, a database that is down at start is reported, not fatal: see keepStarting.
      this.logger.error(`Webhook job queue not installed yet: ${(error as Error).message}`);
    }
  }

  onApplicationBootstrap(): void {
    if (!this.config.webhook.url) return;
    this.starting = this.keepStarting();
    if (this.config.webhook.deliveryEnabled) this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.sweepTimer);
    await this.starting;
    await this.sweeping;
    const current = this.current;
    this.current = undefined;
    if (current) {
      clearInterval(current.heartbeat);
      try {
        await current.runner.stop();
        await this.deliveries.releaseLocksOf([current.workerId]);
      } catch (error) {
        // Whatever it still holds is released by the other replicas once its heartbeat is old.
        this.logger.error(`Webhook worker did not stop cleanly: ${(error as Error).message}`);
      }
    }
    await this.pool.end();
  }

  /**
   * Retries until the queue is installed and the worker runs, or the application stops. After a
   * failed run, first releases the jobs that run still holds (it is known dead: no need to wait
   * for its heartbeat to age).
   */
  private async keepStarting(failed?: WorkerRun): Promise<void> {
    let unreleased = failed;
    while (!this.stopping.signal.aborted) {
      try {
        if (unreleased) {
          await this.deliveries.releaseLocksOf([unreleased.workerId]);
          unreleased = undefined;
        }
        await this.queueSchema.ensureInstalled();
        if (this.config.webhook.deliveryEnabled) await this.startWorker();
        return;
      } catch (error) {
        this.logger.error(`Webhook delivery could not start, retrying in ${RESTART_DELAY_MS} ms: ${(error as Error).message}`);
        await sleep(RESTART_DELAY_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private async startWorker(): Promise<void> {
    const events: WorkerEvents = new EventEmitter();
    let workerId: string | undefined;
    events.on('pool:create', ({ workerPool }) => {
      workerId = workerPool.id;
    });
    const abort = new AbortController();
    const tasks = new Set<Promise<void>>();
    /** Runs a task body, aborted when this run or the application stops, and keeps it until it ends. */
    const track = (body: (signal: AbortSignal) => Promise<void>, jobSignal: AbortSignal): Promise<void> => {
      const task = body(AbortSignal.any([this.stopping.signal, abort.signal, jobSignal]));
      tasks.add(task);
      return task.finally(() => tasks.delete(task));
    };
    const runner = await run({
      pgPool: this.pool,
      concurrency: CONCURRENCY,
      noHandleSignals: true,
      // New jobs wake the worker through LISTEN/NOTIFY; retries that become due are found by polling,
      // so poll at the base back-off (1 s by default) to keep the first retries near their schedule.
      pollInterval: Math.min(1_000, Math.max(50, this.config.webhook.backoffBaseMs)),
      parsedCronItems: [],
      logger: graphileLogger(),
      events,
      // Batched completion reports a database error to the worker pool, which stops and is restarted
      // below; unbatched (the default), graphile-worker 0.17 leaves it as an unhandled rejection.
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      taskList: {
        [DELIVER_REVIEW_TASK]: (payload, helpers) =>
          track((signal) => this.delivery.deliverReviews([parseDeliverReviewPayload(payload).reviewId], signal), helpers.abortSignal),
        [DELIVER_BATCH_TASK]: (payload, helpers) =>
          track((signal) => this.delivery.deliverReviews(parseDeliverBatchPayload(payload), signal), helpers.abortSignal),
      },
    });
    const poolId = workerId;
    if (!poolId || this.stopping.signal.aborted) {
      await runner.stop();
      if (!poolId) throw new Error('graphile-worker started without announcing its pool id');
      return;
    }
    const heartbeat = setInterval(() => this.beat(poolId), HEARTBEAT_INTERVAL_MS).unref();
    const workerRun: WorkerRun = { runner, workerId: poolId, abort, tasks, heartbeat };
    this.current = workerRun;
    this.beat(poolId);
    // A pool that cannot record a job's outcome shuts itself down, and its shutdown has been seen
    // to never finish after a database restart (runner.promise stays pending): act on its start.
    events.on('pool:gracefulShutdown', ({ message }) => this.restartUnlessStopping(workerRun, `is shutting down (${message})`));
    void runner.promise.then(
      () => this.restartUnlessStopping(workerRun, 'exited'),
      (error: Error) => this.restartUnlessStopping(workerRun, `failed: ${error.message}`),
    );
    this.sweep();
  }

  /**
   * The worker stops by itself only on errors it cannot recover from (e.g. a lost database): stop
   * beating for it, abort its tasks, and start another (which first releases the old one's locks).
   * The old pool is left to finish its own shutdown; it fetches no more jobs.
   */
  private restartUnlessStopping(failed: WorkerRun, how: string): void {
    if (this.stopping.signal.aborted || this.current !== failed) return;
    this.logger.error(`Webhook worker ${failed.workerId} ${how}; restarting`);
    this.metrics.dispatcherRestarted();
    this.current = undefined;
    clearInterval(failed.heartbeat);
    failed.abort.abort();
    this.starting = Promise.allSettled([...failed.tasks]).then(() => this.keepStarting(failed));
  }

  private beat(workerId: string): void {
    this.deliveries.beat(workerId).catch((error: Error) => this.logger.warn(`Webhook worker heartbeat failed: ${error.message}`));
  }

  private sweep(): void {
    if (this.sweeping || this.stopping.signal.aborted) return;
    this.sweeping = this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
  }

  private async sweepOnce(): Promise<void> {
    if (!this.queueSchema.isInstalled) return;
    try {
      const deadWorkers = await this.deliveries.releaseLocksOfDeadWorkers(DEAD_AFTER_MS);
      if (deadWorkers.length > 0) this.logger.warn(`Released webhook jobs locked by dead workers: ${deadWorkers.join(', ')}`);
      const requeued = await this.deliveries.requeueOrphans(ORPHAN_AGE_MS);
      if (requeued.length > 0) this.logger.warn(`Re-queued webhook delivery of ${requeued.length} review(s) that had no job`);
    } catch (error) {
      this.logger.error(`Webhook sweep failed: ${(error as Error).message}`);
    }
  }
}
