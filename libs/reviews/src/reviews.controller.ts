import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, AssignRateLimited, CurrentActor, Permission } from '@app/auth';
import { ReviewPriority } from '@app/database';
import { NoBody, Problems } from '@app/http';

import { AssignmentService } from './assignment.service.js';
import {
  AssignReviewDto,
  AutoAssignReviewDto,
  CancelReviewDto,
  ListReviewsQueryDto,
  ReassignReviewDto,
  ReviewIdParam,
  ReviewPageDto,
  SubmitReviewDto,
} from './dto/review.dto.js';
import { ReassignmentService } from './reassignment.service.js';
import { ReviewView } from './review.view.js';
import { ReviewCancellationService } from './review-cancellation.service.js';
import { ReviewQueriesService } from './review-queries.service.js';
import { ReviewWorkService } from './review-work.service.js';

@ApiTags('reviews')
@Controller('reviews')
export class ReviewsController {
  constructor(
    private readonly assignments: AssignmentService,
    private readonly reassignments: ReassignmentService,
    private readonly cancellations: ReviewCancellationService,
    private readonly work: ReviewWorkService,
    private readonly queries: ReviewQueriesService,
  ) {}

  @Post()
  @Allow(Permission.ReviewsAssign)
  @ApiOperation({
    operationId: 'assignReview',
    summary: 'Assign a review of an incident to an engineer',
    description:
      'One transaction: the review is created, the engineer counted, the incident moved to pending_approval. Rate limited per subject.',
  })
  @ApiCreatedResponse({ type: ReviewView })
  @Problems({ 404: ['NOT_FOUND'], 409: ['INCIDENT_CLOSED', 'INCIDENT_HAS_OPEN_REVIEW', 'ENGINEER_UNAVAILABLE', 'ENGINEER_AT_CAPACITY'] })
  @AssignRateLimited()
  assign(@CurrentActor() actor: Actor, @Body() body: AssignReviewDto): Promise<ReviewView> {
    return this.assignments.assign(actor, {
      incidentId: body.incidentId,
      engineerId: body.engineerId,
      priority: body.priority ?? ReviewPriority.normal,
    });
  }

  @Post('auto-assign')
  @Allow(Permission.ReviewsAssign)
  @ApiOperation({
    operationId: 'autoAssignReview',
    summary: 'Assign a review to the best available engineer',
    description:
      "Picks the first engineer GET /engineers/available would list for the incident's requiredExpertise. Rate limited per subject.",
  })
  @ApiCreatedResponse({ type: ReviewView, description: 'Assigned to the first engineer GET /engineers/available would list' })
  @Problems({ 404: ['NOT_FOUND'], 409: ['INCIDENT_CLOSED', 'INCIDENT_HAS_OPEN_REVIEW', 'NO_ENGINEER_AVAILABLE'] })
  @AssignRateLimited()
  autoAssign(@CurrentActor() actor: Actor, @Body() body: AutoAssignReviewDto): Promise<ReviewView> {
    return this.assignments.autoAssign(actor, { incidentId: body.incidentId, priority: body.priority ?? ReviewPriority.normal });
  }

  @Get()
  @Allow(Permission.ReviewsReadAll, Permission.ReviewsReadOwn)
  @ApiOperation({
    operationId: 'listReviews',
    summary: 'List reviews',
    description: 'Filtered and paged, newest assignedAt first. An engineer sees only their own: the filters are combined with ownership.',
  })
  @ApiOkResponse({ type: ReviewPageDto, description: 'Newest assignedAt first; engineers see only their own' })
  list(@CurrentActor() actor: Actor, @Query() query: ListReviewsQueryDto): Promise<ReviewPageDto> {
    return this.queries.list(actor, query);
  }

  @Get(':id')
  @Allow(Permission.ReviewsReadAll, Permission.ReviewsReadOwn)
  @ApiOperation({
    operationId: 'getReview',
    summary: 'One review',
    description: "An engineer may read only their own reviews: another engineer's is 404.",
  })
  @ApiOkResponse({ type: ReviewView })
  @Problems({ 404: ['NOT_FOUND'] })
  get(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam): Promise<ReviewView> {
    return this.queries.get(actor, id);
  }

  @Post(':id/start')
  @NoBody()
  @HttpCode(200)
  @Allow(Permission.ReviewsWorkOwn)
  @ApiOperation({
    operationId: 'startReview',
    summary: 'Start own review',
    description: 'assigned → in_progress, by the engineer who holds it. Takes no body.',
  })
  @ApiOkResponse({ type: ReviewView })
  @Problems({ 404: ['NOT_FOUND'], 409: ['INVALID_TRANSITION'] })
  start(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam): Promise<ReviewView> {
    return this.work.start(actor, id);
  }

  @Post(':id/submit')
  @HttpCode(200)
  @Allow(Permission.ReviewsWorkOwn)
  @ApiOperation({
    operationId: 'submitReview',
    summary: 'Submit own review',
    description: "assigned or in_progress → submitted, with the engineer's approach, by the engineer who holds it.",
  })
  @ApiOkResponse({ type: ReviewView, description: 'From assigned, startedAt is back-filled with assignedAt' })
  @Problems({ 404: ['NOT_FOUND'], 409: ['INVALID_TRANSITION'] })
  submit(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam, @Body() body: SubmitReviewDto): Promise<ReviewView> {
    return this.work.submit(actor, id, body);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Allow(Permission.ReviewsAssign)
  @ApiOperation({
    operationId: 'cancelReview',
    summary: 'Cancel a review',
    description: "An open review → cancelled, with the reason; the engineer's counter is released.",
  })
  @ApiOkResponse({ type: ReviewView })
  @Problems({ 404: ['NOT_FOUND'], 409: ['INVALID_TRANSITION'] })
  cancel(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam, @Body() body: CancelReviewDto): Promise<ReviewView> {
    return this.cancellations.cancel(actor, id, body.reason);
  }

  @Post(':id/reassign')
  @Allow(Permission.ReviewsAssign)
  @ApiOperation({
    operationId: 'reassignReview',
    summary: 'Reassign a review to another engineer',
    description:
      'All or nothing: the review (assigned or in_progress) is cancelled with the reason and a new one, same incident and priority, fresh SLA, is assigned. Rate limited per subject.',
  })
  @ApiCreatedResponse({ type: ReviewView, description: 'The new review' })
  @Problems({ 404: ['NOT_FOUND'], 409: ['INVALID_TRANSITION', 'SAME_ENGINEER', 'ENGINEER_UNAVAILABLE', 'ENGINEER_AT_CAPACITY'] })
  @AssignRateLimited()
  reassign(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam, @Body() body: ReassignReviewDto): Promise<ReviewView> {
    return this.reassignments.reassign(actor, id, body);
  }
}
