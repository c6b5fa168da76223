import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { isLockNotAvailable, TransactionRunner, type Tx } from '@app/database';

import { AuditRepository } from './audit.repository.js';
import type { AuditSeal, ChainHead, ChainVerification } from './audit.types.js';
import { chainHash, type ChainKeys, ChainWalker, GENESIS_HASH } from './audit-chain.js';
import { keysetRows } from './keyset.js';

const SEAL_INTERVAL_MS = 1_000;
const SEAL_BATCH_SIZE = 500;
const VERIFY_BATCH_SIZE = 1_000;
/**
 * While the sealer waits for the exclusive lock, new writers queue behind it; this bounds that pause
 * when a long transaction holds the shared lock (docs/audit.md, "Cost for writers").
 */
const LOCK_TIMEOUT_MS = 200;

/**
 * Seals committed audit entries into the hash chain and verifies it (docs/audit.md). Writers never
 * wait for each other: they hold the seal gate in shared mode, and only this sealer takes it
 * exclusively, for the instant needed to learn which sequence numbers are final.
 */
@Injectable()
export class AuditChainService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditChainService.name);
  private readonly keys: ChainKeys;
  private timer?: NodeJS.Timeout;
  private backgroundRun?: Promise<void>;
  private stopping = false;
  private failing = false;
  private sealingPaused = false;

  constructor(
    private readonly repository: AuditRepository,
    private readonly transactions: TransactionRunner,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = config.auditChain;
  }

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
   * Read-only: walks entries and seals side by side in seq order, in keyset batches, up to the sealed
   * head, recomputing every hash. Stops at the first seq where they disagree: an entry whose hash
   * differs (edited), a seal without its entry (deleted), or an entry without a seal (inserted behind
   * the sealer's back). Entries above the head are counted as unsealed.
   */
  async verify(): Promise<ChainVerification> {
    const head = await this.repository.sealedHead();
    const unsealed = await this.repository.countAbove(head?.seq ?? null);
    if (!head) return { valid: true, checked: 0, firstInvalidSeq: null, unsealed };
    const entries = keysetRows((after) => this.repository.entriesBetween(after, head.seq, VERIFY_BATCH_SIZE), VERIFY_BATCH_SIZE);
    const seals = keysetRows((after) => this.repository.sealsBetween(after, head.seq, VERIFY_BATCH_SIZE), VERIFY_BATCH_SIZE);
    const walker = new ChainWalker(this.keys);
    let checked = 0;
    const invalidAt = (seq: bigint): ChainVerification => ({ valid: false, checked, firstInvalidSeq: Number(seq), unsealed });
    try {
      let entry = await entries.next();
      let seal = await seals.next();
      while (!entry.done || !seal.done) {
        if (entry.done) return invalidAt(seal.value!.seq);
        if (seal.done) return invalidAt(entry.value.seq);
        if (entry.value.seq < seal.value.seq) return invalidAt(entry.value.seq);
        if (seal.value.seq < entry.value.seq) return invalidAt(seal.value.seq);
        if (!walker.accept(entry.value, seal.value.hash)) return invalidAt(seal.value.seq);
        checked += 1;
        [entry, seal] = await Promise.all([entries.next(), seals.next()]);
      }
      return { valid: true, checked, firstInvalidSeq: null, unsealed };
    } finally {
      await Promise.all([entries.return(undefined), seals.return(undefined)]);
    }
  }

  async head(): Promise<ChainHead> {
    const head = await this.repository.sealedHead();
    if (!head) return { seq: null, hash: null, sealedAt: null };
    return { seq: Number(head.seq), hash: head.hash, sealedAt: head.sealedAt.toISOString() };
  }

  /**
   * Seals every entry up to the current watermark, in ascending seq, in bounded batches. Gives up at
   * once when the writers or another sealer hold the locks: the next pass, a second later, catches up.
   */
  private async sealPending(): Promise<void> {
    const head = await this.repository.sealedHead();
    // Cheap pre-check without any lock: nothing allocated above the head means nothing to seal.
    if ((await this.repository.lastAllocatedSeq()) <= (head?.seq ?? 0n)) return;
    const watermark = await this.takeWatermark();
    if (watermark === undefined) return;
    for (;;) {
      const count = await this.sealBatch(watermark);
      if (count === undefined || count < SEAL_BATCH_SIZE || this.stopping) return;
    }
  }

  private sealInBackground(): void {
    if (this.backgroundRun) return;
    this.backgroundRun = this.sealPending()
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
  private async takeWatermark(): Promise<bigint | undefined> {
    try {
      return await this.transactions.run(async (tx) => {
        await this.repository.excludeWriters(tx, LOCK_TIMEOUT_MS);
        return this.repository.lastAllocatedSeq(tx);
      });
    } catch (error) {
      if (isLockNotAvailable(error)) return undefined;
      throw error;
    }
  }

  /** Seals the next batch after the current head; undefined when it did not (another sealer, or a head it cannot extend). */
  private sealBatch(watermark: bigint): Promise<number | undefined> {
    return this.transactions.run(async (tx) => {
      if (!(await this.repository.tryLockSealer(tx))) return undefined;
      // Re-read under the lock: another replica may have sealed since.
      const head = await this.repository.sealedHead(tx);
      if (head && !(await this.canExtend(tx, head))) return undefined;
      const entries = await this.repository.entriesBetween(head?.seq ?? null, watermark, SEAL_BATCH_SIZE, tx);
      let previousHash = head?.hash ?? GENESIS_HASH;
      const sealingKey = this.keys.keys[0];
      const seals = entries.map((entry) => {
        previousHash = chainHash(previousHash, entry, sealingKey);
        return { seq: entry.seq, hash: previousHash };
      });
      await this.repository.insertSeals(tx, seals);
      return entries.length;
    });
  }

  /**
   * A replica extends the chain only from a head sealed with a key it holds: during a key rotation a
   * replica still on the old configuration stops sealing once one with the new key has sealed, rather
   * than chaining an older key after a newer one, which verification refuses.
   */
  private async canExtend(tx: Tx, head: AuditSeal): Promise<boolean> {
    const input = await this.repository.sealInput(tx, head.seq);
    const extendable = input !== undefined && new ChainWalker(this.keys, input.previousHash ?? GENESIS_HASH).accept(input.entry, head.hash);
    if (!extendable && !this.sealingPaused) {
      this.logger.warn(
        `Audit sealing paused: the sealed head (seq ${head.seq}) does not verify with this replica's AUDIT_HMAC_KEY; see docs/audit.md`,
      );
    }
    if (extendable && this.sealingPaused) this.logger.log('Audit sealing resumed');
    this.sealingPaused = !extendable;
    return extendable;
  }
}
