import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMinSize, IsIn, IsOptional, IsUUID } from 'class-validator';

import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhook-event.js';

export class EventStreamQueryDto {
  @ApiPropertyOptional({
    type: String,
    description: `Comma-separated event types (${WEBHOOK_EVENT_TYPES.join(', ')}); default: all`,
    example: 'review.decided,review.submitted',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').map((type) => type.trim()) : value))
  @ArrayMinSize(1)
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each value must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  types?: WebhookEventType[];

  @ApiPropertyOptional({ format: 'uuid', description: 'Only events of reviews of this incident' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  incidentId?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Resume after this event (as the Last-Event-ID header, which wins when both are sent)',
  })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  after?: string;
}
