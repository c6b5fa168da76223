import { Injectable } from '@nestjs/common';

import { type Actor, Permission } from '@app/auth';
import { NotFoundError } from '@app/common';
import { EngineersRepository } from '@app/engineers';
import { type Page, pageWindow, toPage } from '@app/http';
import { IncidentsRepository, type IncidentView, toIncidentView } from '@app/incidents';

import type { ListReviewsQueryDto } from './dto/review.dto.js';
import { type ReviewView, toReviewView } from './review.view.js';
import { ReviewsRepository } from './reviews.repository.js';

export interface IncidentWithReviews extends IncidentView {
  reviews: ReviewView[];
}

@Injectable()
export class ReviewQueriesService {
  constructor(
    private readonly reviews: ReviewsRepository,
    private readonly incidents: IncidentsRepository,
    private readonly engineers: EngineersRepository,
  ) {}

  /**
   * Engineers only ever see their own reviews: ownership is one more condition of the same query. A
   * deleted or unknown engineer owns nothing: an empty page.
   */
  async list(actor: Actor, query: ListReviewsQueryDto): Promise<Page<ReviewView>> {
    const seesAll = actor.can(Permission.ReviewsReadAll);
    const ownerId = seesAll ? undefined : await this.engineers.current(actor.engineerId);
    if (ownerId === null) return toPage([], 0, pageWindow(0, query.page, query.pageSize));
    const filter = {
      statuses: query.status,
      priority: query.priority,
      engineerId: query.engineerId,
      incidentId: query.incidentId,
      overdue: query.overdue,
      ownerId,
    };
    const total = await this.reviews.countMatching(filter);
    const window = pageWindow(total, query.page, query.pageSize);
    const rows = total === 0 ? [] : await this.reviews.listMatching(filter, window.offset, window.pageSize);
    return toPage(rows.map(toReviewView), total, window);
  }

  async get(actor: Actor, id: string): Promise<ReviewView> {
    const review = await this.reviews.findById(id);
    if (!review) throw new NotFoundError('Review', id);
    if (!actor.can(Permission.ReviewsReadAll) && review.engineerId !== (await this.engineers.current(actor.engineerId))) {
      throw new NotFoundError('Review', id);
    }
    return toReviewView(review);
  }

  /**
   * Admin and service see every review; an engineer (not deleted) sees the incident only if they held
   * a review of it, and only their own reviews.
   */
  async incident(actor: Actor, id: string): Promise<IncidentWithReviews> {
    const incident = await this.incidents.findById(id);
    if (!incident) throw new NotFoundError('Incident', id);
    const seesAll = actor.can(Permission.IncidentsReadAll);
    const ownerId = seesAll ? undefined : await this.engineers.current(actor.engineerId);
    if (ownerId === null || (ownerId !== undefined && !(await this.reviews.engineerHeldIncident(ownerId, id)))) {
      throw new NotFoundError('Incident', id);
    }
    const reviews = await this.reviews.forIncident(id, ownerId);
    return { ...toIncidentView(incident), reviews: reviews.map(toReviewView) };
  }
}
