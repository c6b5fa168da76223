import { Injectable } from '@nestjs/common';

import { AuditService } from '@app/audit';
import { type Actor } from '@app/auth';
import { IntegrityError } from '@app/common';
import { AssignmentStrategy, TransactionRunner } from '@app/database';
import { EngineerDeletedError, EngineersRepository, toEngineerView } from '@app/engineers';
import type { IncidentRow } from '@app/incidents';

import { ReviewLocks } from './review-locks.js';
import { automatic, ReviewOpening } from './review-opening.js';
import { MOVABLE_REVIEW_STATUSES } from './review-state-machine.js';
import { ReviewsRepository } from './reviews.repository.js';

export interface DrainResult {
  engineer: ReturnType<typeof toEngineerView>;
  reassigned: { fromReviewId: string; toReviewId: string; engineerId: string }[];
  notReassigned: string[];
}

/** Takes an engineer off duty and moves their open work, in one transaction. */
@Injectable()
export class EngineerDrainService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly engineers: EngineersRepository,
    private readonly locks: ReviewLocks,
    private readonly opening: ReviewOpening,
    private readonly audit: AuditService,
  ) {}

  /**
   * Sets the engineer's status, then hands each assigned/in-progress review (oldest first) to whoever
   * auto-assign would pick for its incident; reviews nobody can take stay where they are. The
   * incidents of the reviews seen before the engineer's lock are locked first (the global order);
   * the reviews are read again under the engineer's lock, after which none can reach it. A review
   * assigned in between has an incident not locked yet: it is taken only if that lock is free at
   * once (waiting for it would invert the order), else it is reported in notReassigned.
   */
  async drain(actor: Actor, engineerId: string, input: { status: 'on_leave' | 'offline'; reason: string }): Promise<DrainResult> {
    return this.transactions.run(async (tx) => {
      const seen = await this.reviews.movableForEngineer(tx, engineerId);
      const incidents = new Map<string, IncidentRow>();
      for (const incidentId of [...new Set(seen.map((review) => review.incidentId))].sort()) {
        incidents.set(incidentId, await this.locks.incident(tx, incidentId));
      }
      const before = await this.locks.engineer(tx, engineerId);
      if (before.deletedAt) throw new EngineerDeletedError(engineerId);
      let drained = await this.engineers.update(tx, engineerId, { status: input.status });
      const result: DrainResult = { engineer: toEngineerView(drained), reassigned: [], notReassigned: [] };
      for (const { id, incidentId } of await this.reviews.movableForEngineer(tx, engineerId)) {
        const incident = incidents.get(incidentId) ?? (await this.locks.tryIncident(tx, incidentId));
        if (!incident) {
          result.notReassigned.push(id);
          continue;
        }
        const review = await this.locks.review(tx, id);
        if (review.engineerId !== engineerId || !MOVABLE_REVIEW_STATUSES.includes(review.status)) continue;
        const candidate = await this.locks.candidate(tx, incident.requiredExpertise, engineerId);
        if (!candidate) {
          result.notReassigned.push(review.id);
          continue;
        }
        const next = await this.opening.move(tx, actor, {
          review,
          incident,
          to: candidate.engineer,
          reason: input.reason,
          choice: automatic(AssignmentStrategy.drain, candidate),
        });
        const current = await this.engineers.findById(engineerId, tx);
        if (!current) throw new IntegrityError(`Engineer ${engineerId} disappeared while it was locked for drain`);
        drained = current;
        result.reassigned.push({ fromReviewId: review.id, toReviewId: next.id, engineerId: candidate.engineer.id });
      }
      result.engineer = toEngineerView(drained);
      await this.audit.record(tx, actor, {
        action: 'engineer.drained',
        entityType: 'engineer',
        entityId: engineerId,
        before: toEngineerView(before),
        after: result.engineer,
      });
      return result;
    });
  }
}
