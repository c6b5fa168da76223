import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { deleteInBatches, isLockNotAvailable, TransactionRunner } from '@app/database';

import { EventLogRepository } from './event-log.repository.js';

const SEQUENCE_INTERVAL_MS = 250;
const SEQUENCE_BATCH_SIZE = 1_000;
/** New writers queue behind the sequencer while it waits for the gate: this bounds that pause. */
const GATE_LOCK_TIMEOUT_MS = 100;
const PURGE_INTERVAL_MS = 60_000;
const PURGE_BATCH_SIZE = 1_000;
const PURGE_MAX_BATCHES = 100;

/**
 * Gives committed review events their stream position, in commit order, a quarter of a second after
 * they commit at the latest (docs/architecture.md, "Event stream"), and purges events past
 * EVENT_RETENTION_HOURS in bounded batches. Runs on every replica; the locks make one of them do it.
 */
@Injectable()
export class EventSequencer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EventSequencer.name);
  private sequenceTimer?: NodeJS.Timeout;
  private purgeTimer?: NodeJS.Timeout;
  /** Sequencing and purging run independently, so a long purge never delays the streams. */
  private readonly running = new Map<'sequence' | 'purge', Promise<void>>();
  private stopping = false;
  private failing = false;
  private readonly passListeners: (() => void)[] = [];

  constructor(
    private readonly log: EventLogRepository,
    private readonly transactions: TransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.scheduleNextSequencing();
    this.purgeTimer = setInterval(() => this.runInBackground('purge', () => this.purgeExpired()), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.sequenceTimer);
    clearInterval(this.purgeTimer);
    await Promise.all(this.running.values());
  }

  /**
   * Sequencing passes run at the boundaries of SEQUENCE_INTERVAL_MS, the same instants on every
   * replica, so that the replicas' passes meet at the sequencer lock and one of them makes writers
   * wait at the gate per interval, however many replicas there are.
   */
  private scheduleNextSequencing(): void {
    if (this.stopping) return;
    const untilBoundary = SEQUENCE_INTERVAL_MS - (Date.now() % SEQUENCE_INTERVAL_MS);
    this.sequenceTimer = setTimeout(() => {
      this.runInBackground('sequence', () => this.sequencePending().finally(() => this.passListeners.forEach((listener) => listener())));
      this.scheduleNextSequencing();
    }, untilBoundary);
    this.sequenceTimer.unref();
  }

  /** Calls `listener` after every sequencing pass of this replica: one that positioned events, found none, or failed. */
  afterEachPass(listener: () => void): void {
    this.passListeners.push(listener);
  }

  /**
   * Positions every event final at this moment, in batches; returns how many. Leaves the work to the
   * next pass when writers hold the gate longer than the timeout or another replica is sequencing.
   */
  async sequencePending(): Promise<number> {
    if (!(await this.log.hasUnsequenced())) return 0;
    let watermark: bigint | undefined;
    try {
      watermark = await this.transactions.run((tx) => this.log.watermark(tx, GATE_LOCK_TIMEOUT_MS));
    } catch (error) {
      if (isLockNotAvailable(error)) return 0;
      throw error;
    }
    if (watermark === undefined) return 0;
    let total = 0;
    for (;;) {
      const count = await this.transactions.run((tx) => this.log.sequence(tx, watermark, SEQUENCE_BATCH_SIZE));
      if (count === undefined) return total;
      total += count;
      if (count < SEQUENCE_BATCH_SIZE || this.stopping) return total;
    }
  }

  /** Deletes events older than EVENT_RETENTION_HOURS, at most PURGE_BATCH_SIZE per statement. */
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(Date.now() - this.config.eventRetentionHours * 3_600_000);
    const deleted = await deleteInBatches((limit) => this.log.purgeOlderThan(cutoff, limit), {
      batchSize: PURGE_BATCH_SIZE,
      maxBatches: PURGE_MAX_BATCHES,
      stopped: () => this.stopping,
    });
    return deleted.reduce((sum, count) => sum + count, 0);
  }

  private runInBackground(kind: 'sequence' | 'purge', work: () => Promise<unknown>): void {
    if (this.running.has(kind) || this.stopping) return;
    const run = work()
      .then(
        () => {
          if (this.failing) this.logger.log('Event sequencing recovered');
          this.failing = false;
        },
        (error: unknown) => {
          if (!this.failing) this.logger.warn(`Event ${kind} failed, retrying: ${(error as Error).message}`);
          this.failing = true;
        },
      )
      .finally(() => this.running.delete(kind));
    this.running.set(kind, run);
  }
}
