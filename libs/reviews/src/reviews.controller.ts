import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, AssignRateLimited, CurrentActor, Permission } from '@app/auth';
import { ReviewPriority } from '@app/database';
import { NoBody } from '@app/http';

import { AssignmentService } from './assignment.service.js';
import { AssignReviewDto, AutoAssignReviewDto, CancelReviewDto, ListReviewsQueryDto, ReassignReviewDto, ReviewIdParam, ReviewPageDto, SubmitReviewDto } from './dto/review.dto.js';
import { ReviewView } from './review.view.js';
import { ReviewQueriesService } from './review-queries.service.js';
import { ReviewWorkService } from './review-work.service.js';

@ApiTags('reviews')
@Controller('reviews')
export class ReviewsController {
  constructor(
    private readonly assignments: AssignmentService,
    private readonly work: ReviewWorkService,
    private readonly queries: ReviewQueriesService,
  ) {}

  @Post()
  @Allow(Permission.ReviewsAssign)
  @ApiCreatedResponse({ type: ReviewView })
  @ApiNotFoundResponse({ description: 'NOT_FOUND: incident or engineer' })
  @ApiConflictResponse({ description: 'In order: INCIDENT_CLOSED, INCIDENT_HAS_OPEN_REVIEW, ENGINEER_UNAVAILABLE, ENGINEER_AT_CAPACITY' })
  @AssignRateLimited()
  assign(@CurrentActor() actor: Actor, @Body() body: AssignReviewDto): Promise<ReviewView> {
    return this.assignments.assign(actor, { incidentId: body.incidentId, engineerId: body.engineerId, priority: body.priority ?? ReviewPriority.normal });
  }

  @Post('auto-assign')
  @Allow(Permission.ReviewsAssign)
  @ApiCreatedResponse({ type: ReviewView, description: 'Assigned to the first engineer GET /engineers/available would list' })
  @ApiConflictResponse({ description: 'In order: INCIDENT_CLOSED, INCIDENT_HAS_OPEN_REVIEW, NO_ENGINEER_AVAILABLE' })
  @AssignRateLimited()
  autoAssign(@CurrentActor() actor: Actor, @Body() body: AutoAssignReviewDto): Promise<ReviewView> {
    return this.assignments.autoAssign(actor, { incidentId: body.incidentId, priority: body.priority ?? ReviewPriority.normal });
  }

  @Get()
  @Allow(Permission.ReviewsReadAll, Permission.ReviewsReadOwn)
  @ApiOkResponse({ type: ReviewPageDto, description: 'Newest assignedAt first; engineers see only their own' })
  list(@CurrentActor() actor: Actor, @Query() query: ListReviewsQueryDto): Promise<ReviewPageDto> {
    return this.queries.list(actor, query);
  }

  @Get(':id')
  @Allow(Permission.ReviewsReadAll, Permission.ReviewsReadOwn)
  @ApiOkResponse({ type: ReviewView })
  @ApiNotFoundResponse({ description: "NOT_FOUND (also another engineer's review)" })
  get(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam): Promise<ReviewView> {
    return this.queries.get(actor, id);
  }

  @Post(':id/start')
  @NoBody()
  @HttpCode(200)
  @Allow(Permission.ReviewsWorkOwn)
  @ApiOkResponse({ type: ReviewView })
  @ApiConflictResponse({ description: 'INVALID_TRANSITION' })
  start(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam): Promise<ReviewView> {
    return this.work.start(actor, id);
  }

  @Post(':id/submit')
  @HttpCode(200)
  @Allow(Permission.ReviewsWorkOwn)
  @ApiOkResponse({ type: ReviewView, description: 'From assigned, startedAt is back-filled with assignedAt' })
  @ApiConflictResponse({ description: 'INVALID_TRANSITION' })
  submit(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam, @Body() body: SubmitReviewDto): Promise<ReviewView> {
    return this.work.submit(actor, id, body);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Allow(Permission.ReviewsAssign)
  @ApiOkResponse({ type: ReviewView })
  @ApiConflictResponse({ description: 'INVALID_TRANSITION' })
  cancel(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam, @Body() body: CancelReviewDto): Promise<ReviewView> {
    return this.work.cancel(actor, id, body.reason);
  }

  @Post(':id/reassign')
  @Allow(Permission.ReviewsAssign)
  @ApiCreatedResponse({ type: ReviewView, description: 'The new review' })
  @ApiConflictResponse({ description: 'In order: INVALID_TRANSITION, SAME_ENGINEER, ENGINEER_UNAVAILABLE, ENGINEER_AT_CAPACITY' })
  @AssignRateLimited()
  reassign(@CurrentActor() actor: Actor, @Param() { id }: ReviewIdParam, @Body() body: ReassignReviewDto): Promise<ReviewView> {
    return this.assignments.reassign(actor, id, body);
  }
}
