import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { overrideResponse, Problems } from '@app/http';
import { IncidentIdParam, IncidentView } from '@app/incidents';

import { DecisionService } from './decision.service.js';
import { DecisionView } from './decision.view.js';
import { DecisionDto, DecisionQueryDto } from './dto/review.dto.js';
import { ReviewView } from './review.view.js';
import { type IncidentWithReviews, ReviewQueriesService } from './review-queries.service.js';
import { ReviewWorkService } from './review-work.service.js';

export class IncidentWithReviewsView extends IncidentView {
  @ApiProperty({
    type: [ReviewView],
    description: 'Its reviews, newest assignedAt first (a caller whose only role is engineer sees only their own)',
  })
  reviews!: ReviewView[];
}

/** Incident use cases that need its reviews (which is why they live in the reviews module). */
@ApiTags('incidents')
@Controller('incidents')
export class IncidentReviewsController {
  constructor(
    private readonly queries: ReviewQueriesService,
    private readonly work: ReviewWorkService,
    private readonly decisions: DecisionService,
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

  @Get(':id/decision')
  @Allow(Permission.IncidentsReadAll, Permission.IncidentsReadOwn)
  @ApiOperation({
    operationId: 'getDecision',
    summary: 'The decision on an incident, optionally waiting for it',
    description:
      'With waitSeconds > 0 and state not yet decided, the answer is held until the incident is decided (on any replica; ' +
      'it wakes within a second), or until waitSeconds pass, then the body as it stands. A held request holds no database connection.',
  })
  @ApiOkResponse({ type: DecisionView })
  @Problems({ 404: ['NOT_FOUND'] })
  decision(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam, @Query() query: DecisionQueryDto): Promise<DecisionView> {
    return this.decisions.view(actor, id, query.waitSeconds ?? 0);
  }

  @Post(':id/decision')
  @HttpCode(200)
  @Allow(Permission.IncidentsDecide)
  @ApiOperation({
    operationId: 'decideIncident',
    summary: 'Decide between the AI and the engineer approach (or vote, with a quorum)',
    description:
      "Decides the incident's submitted review: accepted when the engineer approach is chosen, rejected otherwise; the incident becomes approved. " +
      'decidedBy is the caller; the engineer who submitted the review may not decide it. With DECISION_APPROVALS_<priority> > 1 each call is a vote: ' +
      '202 with the votes so far until one value reaches the number; the vote that reaches it decides.',
  })
  @ApiExtraModels(DecisionView)
  @ApiOkResponse({
    type: ReviewView,
    description: 'The decided review (accepted when the engineer approach is chosen, rejected otherwise)',
  })
  @ApiAcceptedResponse({
    type: DecisionView,
    description:
      "A vote recorded (DECISION_APPROVALS_<priority> > 1) that did not yet bring a value to the required number: the decision's state with the votes so far",
  })
  @Problems({
    403: ['SELF_DECISION_FORBIDDEN'],
    404: ['NOT_FOUND', 'NO_SUBMITTED_REVIEW'],
    409: ['DECISION_ALREADY_MADE', 'ALREADY_VOTED'],
  })
  async decide(
    @CurrentActor() actor: Actor,
    @Param() { id }: IncidentIdParam,
    @Body() body: DecisionDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<ReviewView | DecisionView> {
    const outcome = await this.work.decide(actor, id, body);
    if ('decided' in outcome) return outcome.decided;
    overrideResponse(res, 202);
    return outcome.pending;
  }
}
