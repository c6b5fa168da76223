import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Allow, Permission } from '@app/auth';

import { ListWebhookEventsQueryDto, WebhookEventPageDto } from './dto/webhook-events.dto.js';
import { WebhookEventsService } from './webhook-events.service.js';

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhookEventsController {
  constructor(private readonly events: WebhookEventsService) {}

  @Get('events')
  @Allow(Permission.WebhooksRead)
  @ApiOperation({
    operationId: 'listWebhookEvents',
    summary: 'Webhook events and their delivery state, oldest first',
    description:
      'Every review event is POSTed to WEBHOOK_URL as `{ "id", "type", "occurredAt", "data": Review }` with `X-Webhook-Id` (the event id) and ' +
      '`X-Webhook-Signature` (`sha256=` + hex HMAC-SHA256 of the raw body with WEBHOOK_SECRET), at least once and in order per review. ' +
      'A failed attempt (no 2xx within 10 s) is retried after about 1 s, doubling up to 10 min, with ±20 % jitter, until delivered; ' +
      "a review's later events wait for its earlier ones. Ordered by occurredAt, then id; by default only undelivered events. " +
      'Delivered events are listed for WEBHOOK_RETENTION_HOURS (default 168) after their delivery; undelivered ones until they are delivered.',
  })
  @ApiOkResponse({ type: WebhookEventPageDto })
  list(@Query() query: ListWebhookEventsQueryDto): Promise<WebhookEventPageDto> {
    return this.events.list(query);
  }
}
