import { ApiProperty } from '@nestjs/swagger';

import type { WebhookDeliveryStatus, WebhookEventRow } from './outbox.repository.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhook-event.js';

export const WEBHOOK_DELIVERY_STATUSES: readonly WebhookDeliveryStatus[] = ['pending', 'failed', 'delivered'];

/** A webhook event and the state of its delivery, for operators (the receiver gets `{ id, type, occurredAt, data }`). */
export class WebhookEventView {
  @ApiProperty({ format: 'uuid', description: 'Also the X-Webhook-Id header, stable across retries' }) id!: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES }) type!: WebhookEventType;
  @ApiProperty({ format: 'uuid' }) reviewId!: string;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({
    enum: WEBHOOK_DELIVERY_STATUSES,
    description:
      'pending: not attempted yet (waiting for its turn); failed: attempted without success, will be retried; delivered: a 2xx was received',
  })
  status!: WebhookDeliveryStatus;
  @ApiProperty({ type: 'integer', description: 'Delivery attempts made so far (an attempt cut short by a shutdown counts)' })
  attempts!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Start of the latest attempt' }) lastAttemptAt!:
    string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the latest failed attempt failed, e.g. "HTTP 503" or "no answer within 10000 ms"; kept after a later success',
  })
  lastError!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      "When the next attempt is due, on the review's oldest undelivered event (in the past: due now or running); null when delivered, when an earlier event of the same review must be delivered first, or when this replica has no WEBHOOK_URL",
  })
  nextAttemptAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deliveredAt!: string | null;
}

export function toWebhookEventView(row: WebhookEventRow): WebhookEventView {
  return {
    id: row.id,
    type: row.type as WebhookEventType,
    reviewId: row.reviewId,
    occurredAt: row.occurredAt.toISOString(),
    status: row.deliveredAt ? 'delivered' : row.attempts > 0 ? 'failed' : 'pending',
    attempts: row.attempts,
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    lastError: row.lastError,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
  };
}
