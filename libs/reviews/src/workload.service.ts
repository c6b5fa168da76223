import { Injectable } from '@nestjs/common';

import { AuditService } from '@app/audit';
import type { Actor } from '@app/auth';
import { TransactionRunner } from '@app/database';
import { EngineersRepository, toEngineerView } from '@app/engineers';

import { ReviewsRepository } from './reviews.repository.js';

export interface WorkloadReport {
  engineersChecked: number;
  drifted: { engineerId: string; counter: number; actual: number }[];
}

/** The counter's truth is the reviews table: report drift, and repair it with an audit entry per repair. */
@Injectable()
export class WorkloadService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly engineers: EngineersRepository,
    private readonly audit: AuditService,
  ) {}

  async drift(): Promise<WorkloadReport> {
    const { checked, drifted } = await this.reviews.workloadDrift();
    return { engineersChecked: checked, drifted };
  }

  async reconcile(actor: Actor): Promise<WorkloadReport> {
    return this.transactions.run(async (tx) => {
      const suspects = (await this.reviews.workloadDrift(tx)).drifted.map((row) => row.engineerId).sort();
      // Lock the drifted engineers (id order), then recompute under the locks: no assignment can race the repair.
      for (const id of suspects) await this.engineers.lockById(tx, id);
      const recheck = await this.reviews.workloadDrift(tx);
      const checked = recheck.checked;
      const drifted = recheck.drifted.filter((row) => suspects.includes(row.engineerId));
      for (const row of drifted) {
        const before = await this.engineers.findById(row.engineerId, tx);
        const after = await this.engineers.setCounter(tx, row.engineerId, row.actual);
        await this.audit.record(tx, actor, {
          action: 'workload.reconciled',
          entityType: 'engineer',
          entityId: row.engineerId,
          before: before ? toEngineerView(before) : null,
          after: toEngineerView(after),
        });
      }
      return { engineersChecked: checked, drifted };
    });
  }
}
