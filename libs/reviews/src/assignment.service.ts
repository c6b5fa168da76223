import { Injectable } from '@nestjs/common';

import { type Actor } from '@app/auth';
import { AssignmentStrategy, type ReviewPriority, TransactionRunner } from '@app/database';
import type { IncidentRow } from '@app/incidents';
import { ReviewMetrics } from '@app/observability';

import { NoEngineerAvailableError } from './review.errors.js';
import { type ReviewView, toReviewView } from './review.view.js';
import { ReviewLocks } from './review-locks.js';
import { assertEngineerCanTake, assertIncidentAssignable, automatic, MANUAL, measureAssignment, ReviewOpening } from './review-opening.js';

/**
 * A review's first engineer: chosen by the caller (manual) or by the ranking (auto). Each runs in ONE
 * transaction that locks the incident, then the engineer (ReviewLocks), and changes review, counter,
 * incident, audit and outbox together. The database's CHECK constraints and partial unique index
 * stay the last line: a bug here fails the transaction instead of corrupting data.
 */
@Injectable()
export class AssignmentService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly locks: ReviewLocks,
    private readonly opening: ReviewOpening,
    private readonly metrics: ReviewMetrics,
  ) {}

  async assign(actor: Actor, input: { incidentId: string; engineerId: string; priority: ReviewPriority }): Promise<ReviewView> {
    return measureAssignment(
      this.metrics,
      () => input.priority,
      () =>
        this.transactions.run(async (tx) => {
          const [incident, engineer] = await this.locks.incidentAndEngineer(tx, input.incidentId, input.engineerId);
          assertIncidentAssignable(incident);
          assertEngineerCanTake(engineer);
          const review = await this.opening.open(tx, actor, {
            incident,
            engineer,
            priority: input.priority,
            choice: MANUAL,
            reassignedFromId: null,
          });
          return toReviewView(review);
        }),
    );
  }

  async autoAssign(actor: Actor, input: { incidentId: string; priority: ReviewPriority }): Promise<ReviewView> {
    return measureAssignment(
      this.metrics,
      () => input.priority,
      () =>
        this.transactions.run(async (tx) => {
          const incident = await this.locks.incident(tx, input.incidentId);
          assertIncidentAssignable(incident);
          const candidate = await this.locks.candidate(tx, incident.requiredExpertise);
          if (!candidate) throw new NoEngineerAvailableError(describeExpertise(incident));
          const review = await this.opening.open(tx, actor, {
            incident,
            engineer: candidate.engineer,
            priority: input.priority,
            choice: automatic(AssignmentStrategy.auto, candidate),
            reassignedFromId: null,
          });
          return toReviewView(review);
        }),
    );
  }
}

function describeExpertise(incident: IncidentRow): string {
  return incident.requiredExpertise.length ? `expertise ${incident.requiredExpertise.join(', ')}` : 'capacity';
}
