import { Injectable } from '@nestjs/common';

import { AuditService } from '@app/audit';
import { type Actor } from '@app/auth';
import { TransactionRunner } from '@app/database';
import { EngineerHasOpenReviewsError, EngineersRepository, toEngineerView } from '@app/engineers';

import { ReviewLocks } from './review-locks.js';
import { ReviewsRepository } from './reviews.repository.js';

/** Soft-deletes an engineer who holds no open review (it needs both tables, so it lives here). */
@Injectable()
export class EngineerRemovalService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly locks: ReviewLocks,
    private readonly engineers: EngineersRepository,
    private readonly reviews: ReviewsRepository,
    private readonly audit: AuditService,
  ) {}

  async remove(actor: Actor, id: string): Promise<void> {
    await this.transactions.run(async (tx) => {
      // Assignments lock this row too, so no review can be opened between the check and the delete.
      const before = await this.locks.engineer(tx, id);
      if (before.deletedAt) return;
      const open = await this.reviews.countOpenForEngineer(tx, id);
      if (open > 0) throw new EngineerHasOpenReviewsError(id, open);
      const after = await this.engineers.softDelete(tx, id);
      await this.audit.record(tx, actor, {
        action: 'engineer.deleted',
        entityType: 'engineer',
        entityId: id,
        before: toEngineerView(before),
        after: toEngineerView(after),
      });
    });
  }
}
