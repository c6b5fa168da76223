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
import { IncidentReviewsController } from './incident-reviews.controller.js';
import { ReviewDeadlines } from './review-deadlines.js';
import { ReviewQueriesService } from './review-queries.service.js';
import { ReviewWorkService } from './review-work.service.js';
import { ReviewsController } from './reviews.controller.js';
import { ReviewsRepository } from './reviews.repository.js';
import { WorkloadController } from './workload.controller.js';
import { WorkloadService } from './workload.service.js';

@Module({
  imports: [AuditModule, EngineersModule, IncidentsModule, WebhooksModule],
  controllers: [ReviewsController, IncidentReviewsController, EngineerDrainController, WorkloadController],
  providers: [
    ReviewsRepository,
    ReviewDeadlines,
    AssignmentService,
    ReviewWorkService,
    ReviewQueriesService,
    WorkloadService,
    DecisionRepository,
    DecisionWaiters,
    DecisionService,
  ],
  exports: [ReviewsRepository, AssignmentService, ReviewWorkService, DecisionWaiters],
})
export class ReviewsModule {}
