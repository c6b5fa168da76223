import { HttpStatus, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import { describeDatabaseError, TransactionRunner } from '@app/database';
import { DomainError } from '@app/http';

import { AuditRepository } from './audit.repository.js';
import type { ChainVerification } from './audit.types.js';
import { chainHash, GENESIS_HASH } from './audit-chain.js';
import { keysetRows } from './keyset.js';

/** SQLSTATE raised when lock_timeout expires. */
const LOCK_NOT_AVAILABLE = '55P03';

const SEAL_INTERVAL_MS = 1_000;
const SEAL_BATCH_SIZE = 500;
const VERIFY_BATCH_SIZE = 1_000;
/**
 * While the sealer waits for the exclusive lock, new writers queue behind it; these timeouts bound
 * that pause when a long transaction holds the shared lock (docs/audit.md, "Cost for writers").
 */
const BACKGROUND_LOCK_TIMEOUT_MS = 200;
const VERIFY_LOCK_TIMEOUT_MS = 500;
const VERIFY_WATERMARK_ATTEMPTS = 6;
const VERIFY_RETRY_PAUSE_MS = 50;

interface SealOptions {
  /** Wait for the locks (verify) instead of leaving the work to the next background pass. */
  patient: boolean;
}

/**
 * Seals committed audit entries into the hash chain and verifies it (docs/audit.md). Writers never
 * wait for each other: they hold the seal gate in shared mode, and only this sealer takes it
 * exclusively, for the instant needed to learn which sequence numbers are final.
 */
@Injectable()
export class AuditChainService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditChainService.name);
  private timer?: NodeJS.Timeout;
  private backgroundRun?: Promise<void>;
  private stopping = false;
  private failing = false;

  constructor(
    private readonly repository: AuditRepository,
    private readonly transactions: TransactionRunner,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.sealInBackground(), SEAL_INTERVAL_MS);
    // The HTTP server keeps the process alive; this timer alone must not.
    this.timer.unref();
  }

  /** Stops the timer and lets a running pass finish its current batch, before the pool closes. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.backgroundRun;
  }

  /**
   * Seals every entry up to the current watermark, in ascending seq, in bounded batches; returns how
   * many it sealed. Without `patient`, gives up at once when the writers or another sealer hold the
   * locks: the next pass, a second later, catches up.
   */
  async sealPending(options: SealOptions = { patient: true }): Promise<number> {
    const head = await this.repository.sealedHead();
    // Cheap pre-check without any lock: nothing allocated above the head means nothing to seal.
    if ((await this.repository.lastAllocatedSeq()) <= (head?.seq ?? 0n)) return 0;
    const watermark = await this.takeWatermark(options);
    if (watermark === undefined) return 0;
    let sealed = 0;
    for (;;) {
      const count = await this.sealBatch(watermark, options);
      if (count === undefined) return sealed;
      sealed += count;
      if (count < SEAL_BATCH_SIZE || this.stopping) return sealed;
    }
  }

  /**
   * Seals first, then walks entries and seals side by side in seq order, in keyset batches, up to the
   * sealed head, recomputing every hash. Stops at the first seq where they disagree: an entry whose
   * hash differs (edited), a seal without its entry (deleted), or an entry without a seal (inserted
   * behind the sealer's back).
   */
  async verify(): Promise<ChainVerification> {
    await this.sealPending({ patient: true });
    const head = await this.repository.sealedHead();
    if (!head) return { valid: true, checked: 0, firstInvalidSeq: null };
    const entries = keysetRows((after) => this.repository.entriesBetween(after, head.seq, VERIFY_BATCH_SIZE), VERIFY_BATCH_SIZE);
    const seals = keysetRows((after) => this.repository.sealsBetween(after, head.seq, VERIFY_BATCH_SIZE), VERIFY_BATCH_SIZE);
    let checked = 0;
    const invalidAt = (seq: bigint): ChainVerification => ({ valid: false, checked, firstInvalidSeq: Number(seq) });
    let previousHash = GENESIS_HASH;
    try {
      let entry = await entries.next();
      let seal = await seals.next();
      while (!entry.done || !seal.done) {
        if (entry.done) return invalidAt(seal.value!.seq);
        if (seal.done) return invalidAt(entry.value.seq);
        if (entry.value.seq < seal.value.seq) return invalidAt(entry.value.seq);
        if (seal.value.seq < entry.value.seq) return invalidAt(seal.value.seq);
        if (chainHash(previousHash, entry.value) !== seal.value.hash) return invalidAt(seal.value.seq);
        previousHash = seal.value.hash;
        checked += 1;
        [entry, seal] = await Promise.all([entries.next(), seals.next()]);
      }
      return { valid: true, checked, firstInvalidSeq: null };
    } finally {
      await Promise.all([entries.return(undefined), seals.return(undefined)]);
    }
  }

  private sealInBackground(): void {
    if (this.backgroundRun) return;
    this.backgroundRun = this.sealPending({ patient: false })
      .then(
        () => {
          if (this.failing) this.logger.log('Audit sealing recovered');
          this.failing = false;
        },
        (error: unknown) => {
          // Once per outage, not once a second.
          if (!this.failing) this.logger.warn(`Audit sealing failed, retrying every ${SEAL_INTERVAL_MS} ms: ${(error as Error).message}`);
          this.failing = true;
        },
      )
      .finally(() => {
        this.backgroundRun = undefined;
      });
  }

  /**
   * Takes the seal gate exclusively, which waits until every transaction that may have drawn a seq
   * has committed or rolled back, and reads the sequence: every seq up to it is final.
   */
  private async takeWatermark(options: SealOptions): Promise<bigint | undefined> {
    const attempts = options.patient ? VERIFY_WATERMARK_ATTEMPTS : 1;
    const lockTimeoutMs = options.patient ? VERIFY_LOCK_TIMEOUT_MS : BACKGROUND_LOCK_TIMEOUT_MS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.transactions.run(async (tx) => {
          await this.repository.excludeWriters(tx, lockTimeoutMs);
          return this.repository.lastAllocatedSeq(tx);
        });
      } catch (error) {
        if (describeDatabaseError(error)?.sqlState !== LOCK_NOT_AVAILABLE) throw error;
        if (attempt < attempts) {
          // Let the writers queued behind the failed attempt through before queueing again.
          await new Promise((resolve) => setTimeout(resolve, VERIFY_RETRY_PAUSE_MS));
          continue;
        }
        if (!options.patient) return undefined;
        throw new DomainError(HttpStatus.SERVICE_UNAVAILABLE, 'SERVICE_UNAVAILABLE', 'Long-running audit writers kept the chain from being sealed; retry');
      }
    }
  }

  /** Seals the next batch after the current head; undefined when another sealer holds the lock. */
  private sealBatch(watermark: bigint, options: SealOptions): Promise<number | undefined> {
    return this.transactions.run(async (tx) => {
      if (options.patient) await this.repository.lockSealer(tx);
      else if (!(await this.repository.tryLockSealer(tx))) return undefined;
      // Re-read under the lock: another replica may have sealed since.
      const head = await this.repository.sealedHead(tx);
      const entries = await this.repository.entriesBetween(head?.seq ?? null, watermark, SEAL_BATCH_SIZE, tx);
      let previousHash = head?.hash ?? GENESIS_HASH;
      const seals = entries.map((entry) => {
        previousHash = chainHash(previousHash, entry);
        return { seq: entry.seq, hash: previousHash };
      });
      await this.repository.insertSeals(tx, seals);
      return entries.length;
    });
  }
}
