import { Injectable } from '@nestjs/common';

import { IntegrityError, NotFoundError } from '@app/common';
import { Prisma, ReviewStatus, runSteps, type Tx } from '@app/database';
import { type Candidate, ENGINEER_COLUMNS, type EngineerRow, EngineersRepository } from '@app/engineers';
import { INCIDENT_COLUMNS, type IncidentRow, IncidentsRepository } from '@app/incidents';

import { REVIEW_COLUMNS, type ReviewRow } from './review.view.js';
import { ReviewsRepository } from './reviews.repository.js';

/** The order in which one transaction locks several engineers: by id, each once. */
export function engineerLockOrder(ids: readonly string[]): string[] {
  return [...new Set(ids)].sort();
}

/**
 * The row locks of the review lifecycle, and the only code that takes them. Every use case that
 * locks more than one of these rows takes them in one global order, so two transactions can never
 * wait for each other in a cycle:
 *
 *   incident → review → engineers by id
 *
 * Each method returns the locked row (or throws NotFoundError, the 404 the caller answers), so a use
 * case reads what it locked. A use case calls them in that order: `incident` first, then `review`,
 * then `engineer`, `engineerPair` or `candidate` (or one method that takes several of them in that
 * order in one round trip, such as `decisionSubject`). Two deliberate exceptions,
 * each safe by construction: `candidate` skips locked engineers before it waits for one, and
 * `tryIncident` (drain, which already holds its engineer) never waits.
 */
@Injectable()
export class ReviewLocks {
  constructor(
    private readonly incidents: IncidentsRepository,
    private readonly reviews: ReviewsRepository,
    private readonly engineers: EngineersRepository,
  ) {}

  async incident(tx: Tx, id: string): Promise<IncidentRow> {
    const incident = await this.incidents.lockById(tx, id);
    if (!incident) throw new NotFoundError('Incident', id);
    return incident;
  }

  /**
   * The incident, then the engineer, in one round trip: the engineer's lock waits for the incident's
   * (its step reads the incident's). An unknown incident is 404 before the engineer is looked at.
   */
  async incidentAndEngineer(tx: Tx, incidentId: string, engineerId: string): Promise<[IncidentRow, EngineerRow]> {
    const locked = await runSteps(tx, [
      { name: 'incident', sql: this.incidents.lockStep(Prisma.sql`${incidentId}::uuid`), read: { fields: INCIDENT_COLUMNS.selectFrom } },
      {
        name: 'engineer',
        sql: this.engineers.lockStep(engineerId, Prisma.sql`EXISTS (SELECT FROM incident)`),
        read: { fields: ENGINEER_COLUMNS.selectFrom },
      },
    ]);
    const incident = INCIDENT_COLUMNS.pick(locked, 'incident');
    if (!incident) throw new NotFoundError('Incident', incidentId);
    const engineer = ENGINEER_COLUMNS.pick(locked, 'engineer');
    if (!engineer) throw new NotFoundError('Engineer', engineerId);
    return [incident, engineer];
  }

  /**
   * A review's incident, then the review, in one round trip and without reading the review first
   * outside the transaction (a review never changes incident). An unknown review is 404.
   */
  async reviewWithIncident(tx: Tx, reviewId: string): Promise<[ReviewRow, IncidentRow]> {
    const locked = await runSteps(tx, [
      { name: 'incident', sql: this.incidents.lockStep(this.reviews.incidentOf(reviewId)), read: { fields: INCIDENT_COLUMNS.selectFrom } },
      {
        name: 'review',
        sql: this.reviews.lockStep(reviewId, Prisma.sql`EXISTS (SELECT FROM incident)`),
        read: { fields: REVIEW_COLUMNS.selectFrom },
      },
    ]);
    const review = REVIEW_COLUMNS.pick(locked, 'review');
    const incident = INCIDENT_COLUMNS.pick(locked, 'incident');
    if (!review || !incident) throw new NotFoundError('Review', reviewId);
    return [review, incident];
  }

  /**
   * The incident's lock only if it is free at once: undefined when another transaction holds it (or
   * it does not exist). For a caller that already holds a lock later in the order (drain holds its
   * engineer): waiting here would invert the order.
   */
  tryIncident(tx: Tx, id: string): Promise<IncidentRow | undefined> {
    return this.incidents.tryLockById(tx, id);
  }

  async review(tx: Tx, id: string): Promise<ReviewRow> {
    const review = await this.reviews.lockById(tx, id);
    if (!review) throw new NotFoundError('Review', id);
    return review;
  }

  /**
   * The review an engineer works on, locked, with the check that the engineer is current, in one
   * round trip. Another engineer's review is 404, never 403, so its existence is not revealed; so is
   * every review for a deleted or unknown engineer.
   */
  async ownReview(tx: Tx, reviewId: string, engineerId: string | null): Promise<ReviewRow> {
    const locked = await runSteps(tx, [
      { name: 'review', sql: this.reviews.lockStep(reviewId, Prisma.sql`true`), read: { fields: REVIEW_COLUMNS.selectFrom } },
      { name: 'engineer', sql: this.engineers.currentStep(engineerId), read: 'count' },
    ]);
    const review = REVIEW_COLUMNS.pick(locked, 'review');
    if (!review || review.engineerId !== engineerId || locked['engineer.count'] !== 1) throw new NotFoundError('Review', reviewId);
    return review;
  }

  /**
   * What a decision on the incident is about, in one round trip: the incident, locked (404 when
   * unknown); whether it is decided already (its chosen approach, or a decision on any of its
   * reviews); then its submitted review, locked once the incident's lock is held (undefined when
   * there is none, including when its open review is not submitted yet).
   */
  async decisionSubject(tx: Tx, incidentId: string): Promise<{ incident: IncidentRow; decided: boolean; review: ReviewRow | undefined }> {
    const locked = await runSteps(tx, [
      { name: 'incident', sql: this.incidents.lockStep(Prisma.sql`${incidentId}::uuid`), read: { fields: INCIDENT_COLUMNS.selectFrom } },
      { name: 'decided', sql: this.reviews.decidedStep(incidentId), read: 'count' },
      {
        name: 'review',
        sql: this.reviews.lockOpenStep(incidentId, Prisma.sql`EXISTS (SELECT FROM incident)`),
        read: { fields: REVIEW_COLUMNS.selectFrom },
      },
    ]);
    const incident = INCIDENT_COLUMNS.pick(locked, 'incident');
    if (!incident) throw new NotFoundError('Incident', incidentId);
    const decided = incident.chosenApproach !== null || locked['decided.count'] !== 0;
    const review = REVIEW_COLUMNS.pick(locked, 'review');
    return { incident, decided, review: review?.status === ReviewStatus.submitted ? review : undefined };
  }

  async engineer(tx: Tx, id: string): Promise<EngineerRow> {
    const engineer = await this.engineers.lockById(tx, id);
    if (!engineer) throw new NotFoundError('Engineer', id);
    return engineer;
  }

  /** An engineer by id, undefined when it does not exist (workload repair skips it). */
  engineerIfExists(tx: Tx, id: string): Promise<EngineerRow | undefined> {
    return this.engineers.lockById(tx, id);
  }

  /**
   * Both engineers of a reassign, locked in id order so that two opposite reassigns cannot deadlock.
   * The current holder of an open review must exist (else IntegrityError); an unknown target is 404.
   */
  async engineerPair(tx: Tx, currentId: string, targetId: string): Promise<[current: EngineerRow, target: EngineerRow]> {
    const locked = new Map<string, EngineerRow | undefined>();
    for (const id of engineerLockOrder([currentId, targetId])) locked.set(id, await this.engineers.lockById(tx, id));
    const current = locked.get(currentId);
    const target = locked.get(targetId);
    if (!target) throw new NotFoundError('Engineer', targetId);
    if (!current) throw new IntegrityError(`Engineer ${currentId} of an open review does not exist`);
    return [current, target];
  }

  /**
   * The engineer auto-assign would pick, locked. Unlocked candidates first (SKIP LOCKED); when every
   * eligible engineer is merely locked by a concurrent assignment, wait for the best one rather than
   * report "nobody". A rare lock cycle this wait could form is a deadlock that TransactionRunner retries.
   */
  async candidate(tx: Tx, expertise: string[], excludeId?: string): Promise<Candidate | undefined> {
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
}
