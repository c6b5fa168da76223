import { Module } from '@nestjs/common';

import { AuditModule } from '@app/audit';
import { EngineersModule } from '@app/engineers';
import { IncidentsModule } from '@app/incidents';
import { WebhooksModule } from '@app/webhooks';

import { AssignmentService } from './assignment.service.js';
import { DecisionRepository } from './decision.repository.js';
import { DecisionService } from './decision.service.js';
import { DecisionWaiters } from './decision-waiters.js';
import { EngineerDrainController } from './engineer-drain.controller.js';
import { EngineerDrainService } from './engineer-drain.service.js';
import { EngineerRemovalController } from './engineer-removal.controller.js';
import { EngineerRemovalService } from './engineer-removal.service.js';
import { IncidentReviewsController } from './incident-reviews.controller.js';
import { ReassignmentService } from './reassignment.service.js';
import { ReviewCancellationService } from './review-cancellation.service.js';
import { ReviewDeadlines } from './review-deadlines.js';
import { ReviewLocks } from './review-locks.js';
import { ReviewOpening } from './review-opening.js';
import { ReviewQueriesService } from './review-queries.service.js';
import { ReviewWorkService } from './review-work.service.js';
import { ReviewsController } from './reviews.controller.js';
import { ReviewsRepository } from './reviews.repository.js';
import { WorkloadController } from './workload.controller.js';
import { WorkloadService } from './workload.service.js';
import { WorkloadDriftGauge } from './workload-drift.gauge.js';

@Module({
  imports: [AuditModule, EngineersModule, IncidentsModule, WebhooksModule],
  controllers: [ReviewsController, IncidentReviewsController, EngineerDrainController, EngineerRemovalController, WorkloadController],
  providers: [
    ReviewsRepository,
    ReviewDeadlines,
    ReviewLocks,
    ReviewOpening,
    AssignmentService,
    ReassignmentService,
    ReviewCancellationService,
    EngineerDrainService,
    EngineerRemovalService,
    ReviewWorkService,
    ReviewQueriesService,
    WorkloadService,
    WorkloadDriftGauge,
    DecisionRepository,
    DecisionWaiters,
    DecisionService,
  ],
  exports: [ReviewsRepository, ReviewLocks, ReassignmentService, ReviewWorkService, DecisionWaiters],
})
export class ReviewsModule {}
