import { Injectable } from '@nestjs/common';

import { type Page, pageWindow, toPage } from '@app/http';

import type { ListWebhookEventsQueryDto } from './dto/webhook-events.dto.js';
import { JobQueueSchema } from './job-queue-schema.js';
import { OutboxRepository } from './outbox.repository.js';
import { toWebhookEventView, type WebhookEventView } from './webhook-event.view.js';

const UNDELIVERED = ['pending', 'failed'] as const;

/** The operators' view of the outbox: which events wait, how often they were tried, and why they failed. */
@Injectable()
export class WebhookEventsService {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly queueSchema: JobQueueSchema,
  ) {}

  async list(query: ListWebhookEventsQueryDto): Promise<Page<WebhookEventView>> {
    const filter = { statuses: query.status ?? [...UNDELIVERED], reviewId: query.reviewId, type: query.type };
    const total = await this.outbox.count(filter);
    const window = pageWindow(total, query.page, query.pageSize);
    const rows = total === 0 ? [] : await this.outbox.list(filter, window.offset, window.pageSize, this.queueSchema.isInstalled);
    return toPage(rows.map(toWebhookEventView), total, window);
  }
}
