import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';

import { AuditModule } from '@app/audit';
import { ReviewsModule } from '@app/reviews';
import { WebhooksModule } from '@app/webhooks';

import { EscalationController } from './escalation.controller.js';
import { EscalationScheduler } from './escalation.scheduler.js';
import { EscalationService } from './escalation.service.js';

@Module({
  imports: [ScheduleModule.forRoot(), AuditModule, ReviewsModule, WebhooksModule],
  controllers: [EscalationController],
  providers: [EscalationService, EscalationScheduler],
  exports: [EscalationService],
})
export class SlaModule {}
