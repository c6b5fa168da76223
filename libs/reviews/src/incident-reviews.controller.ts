import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { Problems } from '@app/http';
import { IncidentIdParam, IncidentView } from '@app/incidents';

import { DecisionDto } from './dto/review.dto.js';
import { ReviewView } from './review.view.js';
import { type IncidentWithReviews, ReviewQueriesService } from './review-queries.service.js';
import { ReviewWorkService } from './review-work.service.js';

export class IncidentWithReviewsView extends IncidentView {
  @ApiProperty({ type: [ReviewView], description: "Its reviews, newest assignedAt first (a caller whose only role is engineer sees only their own)" })
  reviews!: ReviewView[];
}

/** Incident use cases that need its reviews (which is why they live in the reviews module). */
@ApiTags('incidents')
@Controller('incidents')
export class IncidentReviewsController {
  constructor(
    private readonly queries: ReviewQueriesService,
    private readonly work: ReviewWorkService,
  ) {}

  @Get(':id')
  @Allow(Permission.IncidentsReadAll, Permission.IncidentsReadOwn)
  @ApiOperation({
    operationId: 'getIncident',
    summary: 'One incident with its reviews',
    description: 'For admin and service, and for an engineer who holds or held a review of it (others: 404).',
  })
  @ApiOkResponse({ type: IncidentWithReviewsView })
  @Problems({ 404: ['NOT_FOUND'] })
  get(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam): Promise<IncidentWithReviews> {
    return this.queries.incident(actor, id);
  }

  @Post(':id/decision')
  @HttpCode(200)
  @Allow(Permission.IncidentsDecide)
  @ApiOperation({
    operationId: 'decideIncident',
    summary: 'Decide between the AI and the engineer approach',
    description:
      "Decides the incident's submitted review: accepted when the engineer approach is chosen, rejected otherwise; the incident becomes approved. " +
      'decidedBy is the caller; the engineer who submitted the review may not decide it.',
  })
  @ApiOkResponse({ type: ReviewView, description: 'The decided review (accepted when the engineer approach is chosen, rejected otherwise)' })
  @Problems({ 403: ['SELF_DECISION_FORBIDDEN'], 404: ['NOT_FOUND', 'NO_SUBMITTED_REVIEW'], 409: ['DECISION_ALREADY_MADE'] })
  decide(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam, @Body() body: DecisionDto): Promise<ReviewView> {
    return this.work.decide(actor, id, body);
  }
}
