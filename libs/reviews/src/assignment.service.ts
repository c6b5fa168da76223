import { Injectable } from '@nestjs/common';

import { type AuditActor, AuditService } from '@app/audit';
import { type Actor } from '@app/auth';
import { ConflictError, IntegrityError, NotFoundError } from '@app/common';
import { AssignmentStrategy, IncidentStatus, type ReviewPriority, TransactionRunner, type Tx } from '@app/database';
import { type Candidate, EngineerAtCapacityError, EngineerDeletedError, type EngineerRow, EngineersRepository, toEngineerView } from '@app/engineers';
import { CLOSED_INCIDENT_STATUSES, type IncidentRow, IncidentsRepository, toIncidentView } from '@app/incidents';
import { ReviewMetrics } from '@app/observability';
import { OutboxService } from '@app/webhooks';

import { EngineerUnavailableError, IncidentClosedError, IncidentHasOpenReviewError, NoEngineerAvailableError, SameEngineerError } from './review.errors.js';
import { type ReviewRow, type ReviewView, toReviewView } from './review.view.js';
import { ReviewDeadlines } from './review-deadlines.js';
import { assertMovable } from './review-state-machine.js';
import { ReviewsRepository } from './reviews.repository.js';

interface AssignmentChoice {
  strategy: AssignmentStrategy;
  candidates: number | null;
  loadRatio: number | null;
}

export interface DrainResult {
  engineer: ReturnType<typeof toEngineerView>;
  reassigned: { fromReviewId: string; toReviewId: string; engineerId: string }[];
  notReassigned: string[];
}

const MANUAL: AssignmentChoice = { strategy: AssignmentStrategy.manual, candidates: null, loadRatio: null };
const REASSIGN: AssignmentChoice = { strategy: AssignmentStrategy.reassign, candidates: null, loadRatio: null };

function automatic(strategy: AssignmentStrategy, candidate: Candidate): AssignmentChoice {
  return { strategy, candidates: candidate.candidates, loadRatio: candidate.loadRatio };
}

/**
 * Every way a review reaches an engineer: manual, auto, reassign, drain and (for the SLA module)
 * escalation. Each runs in ONE transaction that locks, in a fixed global order, the incident, then
 * the review, then engineers by id (auto-assign candidates are taken with SKIP LOCKED), and changes
 * review, counters, incident, audit and outbox together. The database's CHECK constraints and
 * partial unique index stay the last line: a bug here fails the transaction instead of corrupting data.
 */
@Injectable()
export class AssignmentService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly engineers: EngineersRepository,
    private readonly incidents: IncidentsRepository,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly deadlines: ReviewDeadlines,
    private readonly metrics: ReviewMetrics,
  ) {}

  async assign(actor: Actor, input: { incidentId: string; engineerId: string; priority: ReviewPriority }): Promise<ReviewView> {
    return this.measured(input.priority, () =>
      this.transactions.run(async (tx) => {
        const incident = await this.lockIncident(tx, input.incidentId);
        const engineer = await this.lockEngineer(tx, input.engineerId);
        this.assertIncidentAssignable(incident);
        this.assertEngineerCanTake(engineer);
        return toReviewView(await this.open(tx, actor, incident, engineer, input.priority, MANUAL, null));
      }),
    );
  }

  async autoAssign(actor: Actor, input: { incidentId: string; priority: ReviewPriority }): Promise<ReviewView> {
    return this.measured(input.priority, () =>
      this.transactions.run(async (tx) => {
        const incident = await this.lockIncident(tx, input.incidentId);
        this.assertIncidentAssignable(incident);
        const candidate = await this.claimCandidate(tx, incident.requiredExpertise);
        if (!candidate) throw new NoEngineerAvailableError(describeExpertise(incident));
        const review = await this.open(tx, actor, incident, candidate.engineer, input.priority, automatic(AssignmentStrategy.auto, candidate), null);
        return toReviewView(review);
      }),
    );
  }

  async reassign(actor: Actor, reviewId: string, input: { engineerId: string; reason: string }): Promise<ReviewView> {
    const existing = await this.reviews.findById(reviewId);
    if (!existing) throw new NotFoundError('Review', reviewId);
    return this.measured(existing.priority, () =>
      this.transactions.run(async (tx) => {
        const incident = await this.lockIncident(tx, existing.incidentId);
        const review = await this.lockReview(tx, reviewId);
        const [current, target] = await this.lockEngineerPair(tx, review.engineerId, input.engineerId);
        assertMovable(review.id, review.status);
        if (target.id === current.id) throw new SameEngineerError(reviewId, target.id);
        this.assertEngineerCanTake(target);
        const moved = await this.move(tx, actor, { review, incident, from: current, to: target, reason: input.reason, choice: REASSIGN });
        return toReviewView(moved);
      }),
    );
  }

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
        incidents.set(incidentId, await this.lockIncident(tx, incidentId));
      }
      const before = await this.lockEngineer(tx, engineerId);
      if (before.deletedAt) throw new EngineerDeletedError(engineerId);
      let drained = await this.engineers.update(tx, engineerId, { status: input.status });
      const result: DrainResult = { engineer: toEngineerView(drained), reassigned: [], notReassigned: [] };
      for (const { id, incidentId } of await this.reviews.movableForEngineer(tx, engineerId)) {
        const incident = incidents.get(incidentId) ?? (await this.incidents.tryLockById(tx, incidentId));
        if (!incident) {
          result.notReassigned.push(id);
          continue;
        }
        const review = await this.lockReview(tx, id);
        if (review.engineerId !== engineerId || !['assigned', 'in_progress'].includes(review.status)) continue;
        const candidate = await this.claimCandidate(tx, incident.requiredExpertise, engineerId);
        if (!candidate) {
          result.notReassigned.push(review.id);
          continue;
        }
        const next = await this.move(tx, actor, {
          review,
          incident,
          from: drained,
          to: candidate.engineer,
          reason: input.reason,
          choice: automatic(AssignmentStrategy.drain, candidate),
        });
        drained = (await this.engineers.findById(engineerId, tx))!;
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

  /**
   * Level-2 escalation with auto-reassign: the SLA module calls this inside its own transaction, after
   * locking incident and review in the same order as everyone else. Returns the new review, or
   * undefined when nobody else can take it.
   */
  async reassignForEscalation(tx: Tx, actor: AuditActor, review: ReviewRow, incident: IncidentRow): Promise<ReviewRow | undefined> {
    const current = await this.lockEngineer(tx, review.engineerId);
    const candidate = await this.claimCandidate(tx, incident.requiredExpertise, review.engineerId);
    if (!candidate) return undefined;
    return this.move(tx, actor, {
      review,
      incident,
      from: current,
      to: candidate.engineer,
      reason: 'escalation',
      choice: automatic(AssignmentStrategy.escalation, candidate),
    });
  }

  /** Cancels `review` and opens a new one for `to`: review.reassigned + review.assigned, all or nothing. */
  private async move(
    tx: Tx,
    actor: AuditActor,
    move: { review: ReviewRow; incident: IncidentRow; from: EngineerRow; to: EngineerRow; reason: string; choice: AssignmentChoice },
  ): Promise<ReviewRow> {
    const cancelled = await this.reviews.cancel(tx, move.review.id, move.reason);
    await this.release(tx, move.review);
    const incident = await this.incidents.setOpenReview(tx, move.incident.id, null);
    await this.audit.record(tx, actor, {
      action: 'review.reassigned',
      entityType: 'review',
      entityId: move.review.id,
      before: toReviewView(move.review),
      after: toReviewView(cancelled),
    });
    await this.outbox.publish(tx, { type: 'review.reassigned', review: toReviewView(cancelled) });
    return this.open(tx, actor, incident, move.to, move.review.priority, move.choice, move.review.id);
  }

  /** Inserts the open review and moves counter, incident, audit and outbox with it. */
  private async open(
    tx: Tx,
    actor: AuditActor,
    incident: IncidentRow,
    engineer: EngineerRow,
    priority: ReviewPriority,
    choice: AssignmentChoice,
    reassignedFromId: string | null,
  ): Promise<ReviewRow> {
    const review = await this.reviews.insert(tx, {
      incidentId: incident.id,
      engineerId: engineer.id,
      priority,
      slaSeconds: this.deadlines.slaSeconds(priority),
      strategy: choice.strategy,
      assignedBy: actor.sub,
      candidates: choice.candidates,
      loadRatio: choice.loadRatio,
      reassignedFromId,
    });
    await this.engineers.recordAssignment(tx, engineer.id);
    let after = await this.incidents.setOpenReview(tx, incident.id, review.id);
    const view = toReviewView(review);
    await this.audit.record(tx, actor, { action: 'review.assigned', entityType: 'review', entityId: review.id, before: null, after: view });
    if (incident.status === IncidentStatus.detected || incident.status === IncidentStatus.analyzing) {
      after = await this.incidents.setStatus(tx, incident.id, IncidentStatus.pending_approval);
      await this.audit.record(tx, actor, {
        action: 'incident.status_changed',
        entityType: 'incident',
        entityId: incident.id,
        before: toIncidentView(incident),
        after: toIncidentView(after),
      });
    }
    await this.outbox.publish(tx, { type: 'review.assigned', review: view });
    return review;
  }

  /** The counter of a finalised review's engineer goes down in the same transaction, or nothing happens. */
  async release(tx: Tx, review: ReviewRow): Promise<void> {
    const engineer = await this.engineers.releaseAssignment(tx, review.engineerId);
    if (!engineer) throw new IntegrityError(`Engineer ${review.engineerId} of review ${review.id} does not exist`);
  }

  /**
   * The engineer auto-assign would pick. Unlocked candidates first (SKIP LOCKED); when every eligible
   * engineer is merely locked by a concurrent assignment, wait for the best one rather than report
   * "nobody". A rare lock cycle this wait could form is a deadlock that TransactionRunner retries.
   */
  private async claimCandidate(tx: Tx, expertise: string[], excludeId?: string): Promise<Candidate | undefined> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const unlocked = await this.engineers.claimBestCandidate(tx, expertise, excludeId);
      if (unlocked) return unlocked;
      const waited = await this.engineers.claimBestCandidate(tx, expertise, excludeId, { skipLocked: false });
      if (waited) return waited;
      const anyone = await this.engineers.available(expertise, 1, excludeId, tx);
      if (anyone.length === 0) return undefined;
    }
    return undefined;
  }

  private async measured(priority: ReviewPriority, work: () => Promise<ReviewView>): Promise<ReviewView> {
    try {
      const review = await work();
      this.metrics.assignment(priority, 'success');
      return review;
    } catch (error) {
      this.metrics.assignment(priority, error instanceof ConflictError || error instanceof NotFoundError ? 'rejected' : 'error');
      throw error;
    }
  }

  async lockIncident(tx: Tx, id: string): Promise<IncidentRow> {
    const incident = await this.incidents.lockById(tx, id);
    if (!incident) throw new NotFoundError('Incident', id);
    return incident;
  }

  async lockReview(tx: Tx, id: string): Promise<ReviewRow> {
    const review = await this.reviews.lockById(tx, id);
    if (!review) throw new NotFoundError('Review', id);
    return review;
  }

  private async lockEngineer(tx: Tx, id: string): Promise<EngineerRow> {
    const engineer = await this.engineers.lockById(tx, id);
    if (!engineer) throw new NotFoundError('Engineer', id);
    return engineer;
  }

  /** Both engineers of a reassign, locked in id order so that two opposite reassigns cannot deadlock. */
  private async lockEngineerPair(tx: Tx, currentId: string, targetId: string): Promise<[EngineerRow, EngineerRow]> {
    if (currentId === targetId) {
      const only = await this.lockEngineer(tx, currentId);
      return [only, only];
    }
    const [firstId, secondId] = [currentId, targetId].sort() as [string, string];
    const first = await this.engineers.lockById(tx, firstId);
    const second = await this.engineers.lockById(tx, secondId);
    const current = currentId === firstId ? first : second;
    const target = targetId === firstId ? first : second;
    if (!target) throw new NotFoundError('Engineer', targetId);
    if (!current) throw new IntegrityError(`Engineer ${currentId} of an open review does not exist`);
    return [current, target];
  }

  private assertIncidentAssignable(incident: IncidentRow): void {
    if (CLOSED_INCIDENT_STATUSES.includes(incident.status)) throw new IncidentClosedError(incident);
    if (incident.openReviewId) throw new IncidentHasOpenReviewError(incident);
  }

  private assertEngineerCanTake(engineer: EngineerRow): void {
    if (engineer.deletedAt || engineer.status !== 'active') throw new EngineerUnavailableError(engineer);
    if (engineer.currentReviewCount >= engineer.maxConcurrentReviews) throw new EngineerAtCapacityError(engineer);
  }
}

function describeExpertise(incident: IncidentRow): string {
  return incident.requiredExpertise.length ? `expertise ${incident.requiredExpertise.join(', ')}` : 'capacity';
}
