import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { overrideResponse } from '@app/http';
import { IncidentIdParam, IncidentView } from '@app/incidents';

import { DecisionService } from './decision.service.js';
import { DecisionView } from './decision.view.js';
import { DecisionDto, DecisionQueryDto } from './dto/review.dto.js';
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
    private readonly decisions: DecisionService,
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

  @Get(':id/decision')
  @Allow(Permission.IncidentsReadAll, Permission.IncidentsReadOwn)
  @ApiOperation({
    summary: 'The decision on an incident, optionally waiting for it',
    description:
      'With waitSeconds > 0 and state not yet decided, the answer is held until the incident is decided (on any replica; ' +
      'it wakes within a second), or until waitSeconds pass, then the body as it stands. A held request holds no database connection.',
  })
  @ApiOkResponse({ type: DecisionView })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED: waitSeconds is not an integer from 0 to 60' })
  @ApiNotFoundResponse({ description: 'NOT_FOUND (also for an engineer who never held a review of it)' })
  decision(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam, @Query() query: DecisionQueryDto): Promise<DecisionView> {
    return this.decisions.view(actor, id, query.waitSeconds ?? 0);
  }

  @Post(':id/decision')
  @HttpCode(200)
  @Allow(Permission.IncidentsDecide)
  @ApiExtraModels(DecisionView)
  @ApiOkResponse({ type: ReviewView, description: 'The decided review (accepted when the engineer approach is chosen, rejected otherwise)' })
  @ApiAcceptedResponse({
    type: DecisionView,
    description: "A vote recorded (DECISION_APPROVALS_<priority> > 1) that did not yet bring a value to the required number: the decision's state with the votes so far",
  })
  @ApiNotFoundResponse({ description: 'NOT_FOUND, NO_SUBMITTED_REVIEW' })
  @ApiForbiddenResponse({ description: 'SELF_DECISION_FORBIDDEN: the caller submitted the review' })
  @ApiConflictResponse({ description: 'DECISION_ALREADY_MADE, ALREADY_VOTED (this admin voted on the review already, for either value)' })
  async decide(
    @CurrentActor() actor: Actor,
    @Param() { id }: IncidentIdParam,
    @Body() body: DecisionDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ReviewView | DecisionView> {
    const outcome = await this.work.decide(actor, id, body);
    if ('decided' in outcome) return outcome.decided;
    overrideResponse(res, 202);
    return outcome.pending;
  }
}
