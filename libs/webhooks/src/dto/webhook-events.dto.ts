import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMinSize, IsIn, IsOptional, IsUUID } from 'class-validator';

import { PageQueryDto } from '@app/http';

import type { WebhookDeliveryStatus } from '../outbox.repository.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhook-event.js';
import { WEBHOOK_DELIVERY_STATUSES, WebhookEventView } from '../webhook-event.view.js';

export class ListWebhookEventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    type: String,
    description: `Comma-separated delivery statuses (${WEBHOOK_DELIVERY_STATUSES.join(', ')}); default: the undelivered ones, pending and failed`,
    example: 'pending,failed',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').map((status) => status.trim()) : value))
  @ArrayMinSize(1)
  @IsIn(WEBHOOK_DELIVERY_STATUSES, { each: true, message: `each value must be one of ${WEBHOOK_DELIVERY_STATUSES.join(', ')}` })
  status?: WebhookDeliveryStatus[];

  @ApiPropertyOptional({ format: 'uuid', description: 'Only events of this review' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  reviewId?: string;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENT_TYPES })
  @IsOptional()
  @IsIn(WEBHOOK_EVENT_TYPES)
  type?: WebhookEventType;
}

export class WebhookEventPageDto {
  @ApiProperty({ type: [WebhookEventView] }) items!: WebhookEventView[];
  @ApiProperty({ type: 'integer', minimum: 0, example: 1 }) total!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 20 }) pageSize!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) totalPages!: number;
}
