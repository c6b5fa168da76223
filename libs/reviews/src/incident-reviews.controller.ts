import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiExtraModels, ApiNotFoundResponse, ApiOkResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { IncidentIdParam, IncidentView } from '@app/incidents';

import { DecisionDto } from './dto/review.dto.js';
import { ReviewView } from './review.view.js';
import { type IncidentWithReviews, ReviewQueriesService } from './review-queries.service.js';
import { ReviewWorkService } from './review-work.service.js';

/** Incident use cases that need its reviews (which is why they live in the reviews module). */
@ApiTags('incidents')
@ApiExtraModels(IncidentView, ReviewView)
@Controller('incidents')
export class IncidentReviewsController {
  constructor(
    private readonly queries: ReviewQueriesService,
    private readonly work: ReviewWorkService,
  ) {}

  @Get(':id')
  @Allow(Permission.IncidentsReadAll, Permission.IncidentsReadOwn)
  @ApiOkResponse({
    description: "The incident with its reviews, newest assignedAt first (an engineer sees only their own)",
    schema: { allOf: [{ $ref: getSchemaPath(IncidentView) }, { properties: { reviews: { type: 'array', items: { $ref: getSchemaPath(ReviewView) } } } }] },
  })
  @ApiNotFoundResponse({ description: 'NOT_FOUND (also for an engineer who never held a review of it)' })
  get(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam): Promise<IncidentWithReviews> {
    return this.queries.incident(actor, id);
  }

  @Post(':id/decision')
  @HttpCode(200)
  @Allow(Permission.IncidentsDecide)
  @ApiOkResponse({ type: ReviewView, description: 'The decided review (accepted when the engineer approach is chosen, rejected otherwise)' })
  @ApiNotFoundResponse({ description: 'NOT_FOUND, NO_SUBMITTED_REVIEW' })
  @ApiConflictResponse({ description: 'DECISION_ALREADY_MADE' })
  decide(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam, @Body() body: DecisionDto): Promise<ReviewView> {
    return this.work.decide(actor, id, body);
  }
}
