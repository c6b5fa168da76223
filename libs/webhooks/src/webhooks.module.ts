import { Module } from '@nestjs/common';

import { DeliveryRepository } from './delivery.repository.js';
import { JobQueueSchema } from './job-queue-schema.js';
import { OutboxRepository } from './outbox.repository.js';
import { OutboxService } from './outbox.service.js';
import { WebhookDeliveryRunner } from './webhook-delivery.runner.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookEventsController } from './webhook-events.controller.js';
import { WebhookEventsService } from './webhook-events.service.js';
import { webhookPoolProvider } from './webhook-pool.js';
import { WebhookSender } from './webhook-sender.js';

/** Transactional outbox of review events, their delivery through graphile-worker, and the operators' listing. */
@Module({
  controllers: [WebhookEventsController],
  providers: [
    JobQueueSchema,
    OutboxRepository,
    OutboxService,
    webhookPoolProvider,
    DeliveryRepository,
    WebhookSender,
    WebhookDeliveryService,
    WebhookDeliveryRunner,
    WebhookEventsService,
  ],
  exports: [OutboxService],
})
export class WebhooksModule {}
