import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';

import { DatabaseNotifications } from '@app/database';
import { Draining } from '@app/http';

import { DECISIONS_CHANNEL } from './decision.repository.js';

export type WaitOutcome = 'woken' | 'timeout' | 'stopping';

/** One caller waiting for decisions on one incident. */
export interface DecisionWatch {
  /** Resolves at the next decision notification (also one that arrived since the last call), the timeout, or shutdown. */
  next(timeoutMs: number): Promise<WaitOutcome>;
  close(): void;
}

/**
 * Long-poll waiters of this process, by incident. They hold no database connection: the decision's
 * NOTIFY (sent at commit by whichever replica decided) reaches this process's one LISTEN connection,
 * which wakes the incident's waiters. After the LISTEN connection was lost, all waiters are woken to
 * re-read once. On shutdown every waiter is released at once.
 */
@Injectable()
export class DecisionWaiters implements OnModuleInit, OnModuleDestroy {
  private readonly watches = new Map<string, Set<Watch>>();
  private stopping = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly notifications: DatabaseNotifications,
    private readonly draining: Draining,
  ) {}

  onModuleInit(): void {
    this.draining.closingSignal.addEventListener('abort', () => this.onModuleDestroy(), { once: true });
    this.unsubscribe = this.notifications.subscribe(DECISIONS_CHANNEL, (incidentId) => {
      const targets = incidentId === undefined ? [...this.watches.values()] : [this.watches.get(incidentId) ?? new Set<Watch>()];
      for (const set of targets) for (const watch of set) watch.wake('woken');
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.stopping = true;
    for (const set of this.watches.values()) for (const watch of set) watch.wake('stopping');
  }

  get waiting(): number {
    let count = 0;
    for (const set of this.watches.values()) count += set.size;
    return count;
  }

  /** Call before reading the decision, so that one made during the read is not missed. */
  watch(incidentId: string): DecisionWatch {
    const watch = new Watch(this.stopping, () => {
      const set = this.watches.get(incidentId);
      set?.delete(watch);
      if (set?.size === 0) this.watches.delete(incidentId);
    });
    const set = this.watches.get(incidentId) ?? new Set<Watch>();
    set.add(watch);
    this.watches.set(incidentId, set);
    return watch;
  }
}

class Watch implements DecisionWatch {
  private pending?: WaitOutcome;
  private resolve?: (outcome: WaitOutcome) => void;

  constructor(
    stopping: boolean,
    readonly close: () => void,
  ) {
    if (stopping) this.pending = 'stopping';
  }

  wake(outcome: WaitOutcome): void {
    if (this.resolve) this.resolve(outcome);
    else if (this.pending !== 'stopping') this.pending = outcome;
  }

  next(timeoutMs: number): Promise<WaitOutcome> {
    if (this.pending) {
      const outcome = this.pending;
      if (outcome !== 'stopping') this.pending = undefined;
      return Promise.resolve(outcome);
    }
    if (timeoutMs <= 0) return Promise.resolve('timeout');
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle('timeout'), timeoutMs);
      const settle = (outcome: WaitOutcome): void => {
        clearTimeout(timer);
        this.resolve = undefined;
        if (outcome === 'stopping') this.pending = 'stopping';
        resolve(outcome);
      };
      this.resolve = settle;
    });
  }
}
