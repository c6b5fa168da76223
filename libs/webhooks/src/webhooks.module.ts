import { Module } from '@nestjs/common';

import { EngineersModule } from '@app/engineers';

import { DeliveryRepository } from './delivery.repository.js';
import { DeliveryEnqueuer } from './delivery-enqueuer.js';
import { EventLogRepository } from './event-log.repository.js';
import { EventSequencer } from './event-sequencer.js';
import { EventStreamService } from './event-stream.service.js';
import { EventsController } from './events.controller.js';
import { JobQueueSchema } from './job-queue-schema.js';
import { OutboxPurger } from './outbox.purger.js';
import { OutboxRepository } from './outbox.repository.js';
import { OutboxService } from './outbox.service.js';
import { WebhookDeliveryRunner } from './webhook-delivery.runner.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookEventsController } from './webhook-events.controller.js';
import { WebhookEventsService } from './webhook-events.service.js';
import { webhookPoolProvider } from './webhook-pool.js';
import { WebhookSender } from './webhook-sender.js';

/**
 * Review events: the event log and its stream (GET /api/v1/events), the transactional outbox, delivery
 * through graphile-worker, and the operators' listing.
 */
@Module({
  imports: [EngineersModule],
  controllers: [WebhookEventsController, EventsController],
  providers: [
    EventLogRepository,
    EventSequencer,
    EventStreamService,
    JobQueueSchema,
    OutboxRepository,
    OutboxPurger,
    OutboxService,
    webhookPoolProvider,
    DeliveryRepository,
    DeliveryEnqueuer,
    WebhookSender,
    WebhookDeliveryService,
    WebhookDeliveryRunner,
    WebhookEventsService,
  ],
  exports: [OutboxService, EventSequencer],
})
export class WebhooksModule {}
