import { Inject, Injectable } from '@nestjs/common';

import { type Actor, Permission } from '@app/auth';
import { NotFoundError } from '@app/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { PrismaService, type Tx } from '@app/database';
import { EngineersRepository } from '@app/engineers';
import { IncidentsRepository } from '@app/incidents';

import { DecisionRepository } from './decision.repository.js';
import { decisionReview, type DecisionView, toDecisionView } from './decision.view.js';
import { DecisionWaiters } from './decision-waiters.js';
import { ReviewsRepository } from './reviews.repository.js';

/** Reads of one incident's view: at most one running and one queued, shared by every caller. */
interface Flight {
  running?: Promise<DecisionView>;
  queued?: Promise<DecisionView>;
}

/** GET /incidents/{id}/decision, with its long-poll. */
@Injectable()
export class DecisionService {
  private readonly flights = new Map<string, Flight>();

  constructor(
    private readonly prisma: PrismaService,
    private readonly incidents: IncidentsRepository,
    private readonly reviews: ReviewsRepository,
    private readonly engineers: EngineersRepository,
    private readonly decisions: DecisionRepository,
    private readonly waiters: DecisionWaiters,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Answers at once when decided or when `waitSeconds` is 0; otherwise holds the answer, without a
   * database connection, until a decision notification for this incident arrives from any replica
   * (then re-reads), the time is up, or the replica shuts down (then answers the last view read).
   * Admin and service see every incident; an engineer only one they hold or held a review of.
   */
  async view(actor: Actor, incidentId: string, waitSeconds: number): Promise<DecisionView> {
    const watch = waitSeconds > 0 ? this.waiters.watch(incidentId) : undefined;
    try {
      let view = await this.readVisible(actor, incidentId);
      const deadline = Date.now() + waitSeconds * 1000;
      while (watch && view.state !== 'decided') {
        if ((await watch.next(deadline - Date.now())) !== 'woken') break;
        view = await this.fresh(incidentId);
      }
      return view;
    } finally {
      watch?.close();
    }
  }

  /** The view as it stands, read in `db` (a transaction sees its own changes). */
  async current(incidentId: string, db: Tx | PrismaService = this.prisma): Promise<DecisionView> {
    const incident = await this.incidents.findById(incidentId, db);
    if (!incident) throw new NotFoundError('Incident', incidentId);
    const reviews = await this.reviews.forIncident(incidentId, undefined, db);
    const review = decisionReview(incident, reviews);
    return toDecisionView({
      incident,
      reviews,
      votes: review ? await this.decisions.votes(review.id, db) : [],
      requiredVotes: this.config.decisions.approvals[review?.priority ?? 'normal'],
      decisionSlaSeconds: this.config.decisionSlaSeconds,
    });
  }

  private async readVisible(actor: Actor, incidentId: string): Promise<DecisionView> {
    if (!actor.can(Permission.IncidentsReadAll)) {
      const engineerId = await this.engineers.current(actor.engineerId);
      if (engineerId === null || !(await this.reviews.engineerHeldIncident(engineerId, incidentId)))
        throw new NotFoundError('Incident', incidentId);
    }
    return this.fresh(incidentId);
  }

  /**
   * A view read after this call began. Many waiters of one incident arrive, and are woken, together:
   * they share reads (one running, and one queued for those who came while it ran, since its snapshot
   * may predate their watch), so a thousand waiters cost a few reads, not a thousand.
   */
  private fresh(incidentId: string): Promise<DecisionView> {
    let flight = this.flights.get(incidentId);
    if (!flight) {
      flight = {};
      this.flights.set(incidentId, flight);
    }
    const current = flight;
    if (!current.running) return (current.running = this.read(incidentId, current));
    current.queued ??= current.running
      .catch(() => undefined)
      .then(() => {
        current.queued = undefined;
        return (current.running = this.read(incidentId, current));
      });
    return current.queued;
  }

  private read(incidentId: string, flight: Flight): Promise<DecisionView> {
    return this.current(incidentId).finally(() => {
      flight.running = undefined;
      if (!flight.queued) this.flights.delete(incidentId);
    });
  }
}
