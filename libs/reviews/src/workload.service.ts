import { Injectable, Logger } from '@nestjs/common';

import { AuditService } from '@app/audit';
import type { Actor } from '@app/auth';
import { TransactionRunner } from '@app/database';
import { EngineersRepository, toEngineerView } from '@app/engineers';
import { ReviewMetrics } from '@app/observability';

import { ReviewLocks } from './review-locks.js';
import { ReviewsRepository, type WorkloadDrift } from './reviews.repository.js';

type Drift = WorkloadDrift;

export interface WorkloadReport {
  engineersChecked: number;
  drifted: Drift[];
}

/** The counter's truth is the reviews table: report drift, and repair it with an audit entry per repair. */
@Injectable()
export class WorkloadService {
  private readonly logger = new Logger(WorkloadService.name);

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly engineers: EngineersRepository,
    private readonly locks: ReviewLocks,
    private readonly audit: AuditService,
    private readonly metrics: ReviewMetrics,
  ) {}

  async drift(): Promise<WorkloadReport> {
    const { checked, drifted } = await this.reviews.workloadDrift();
    return { engineersChecked: checked, drifted };
  }

  /**
   * Each drifted engineer is repaired in a transaction of its own, so that one that cannot be
   * repaired (more open reviews than its capacity: the CHECK would refuse the true count) is logged,
   * counted and reported in `drifted`, untouched, while the others are repaired.
   */
  async reconcile(actor: Actor): Promise<WorkloadReport> {
    const { checked, drifted: suspects } = await this.reviews.workloadDrift();
    const drifted: Drift[] = [];
    for (const { engineerId } of suspects) {
      const found = await this.repair(actor, engineerId);
      if (!found) continue;
      drifted.push(found.drift);
      if (found.repaired) continue;
      this.metrics.workloadUnrepaired();
      this.logger.warn(
        found.drift,
        `Engineer ${engineerId} has ${found.drift.actual} open reviews, above its capacity: counter left unrepaired`,
      );
    }
    return { engineersChecked: checked, drifted };
  }

  /** Locks the engineer, then recounts under the lock: no assignment can race the repair. */
  private async repair(actor: Actor, engineerId: string): Promise<{ drift: Drift; repaired: boolean } | undefined> {
    return this.transactions.run(async (tx) => {
      const before = await this.locks.engineerIfExists(tx, engineerId);
      if (!before) return undefined;
      const actual = await this.reviews.countOpenForEngineer(tx, engineerId);
      if (actual === before.currentReviewCount) return undefined;
      const drift = { engineerId, counter: before.currentReviewCount, actual };
      if (actual > before.maxConcurrentReviews) return { drift, repaired: false };
      const after = await this.engineers.setCounter(tx, engineerId, actual);
      await this.audit.record(tx, actor, {
        action: 'workload.reconciled',
        entityType: 'engineer',
        entityId: engineerId,
        before: toEngineerView(before),
        after: toEngineerView(after),
      });
      return { drift, repaired: true };
    });
  }
}
