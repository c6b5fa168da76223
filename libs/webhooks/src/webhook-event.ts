export const WEBHOOK_EVENT_TYPES = [
  'review.assigned',
  'review.started',
  'review.submitted',
  'review.decided',
  'review.cancelled',
  'review.reassigned',
  'review.escalated',
  'review.decision_overdue',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface ReviewEvent {
  type: WebhookEventType;
  /** The review as the API shows it. */
  review: { id: string; incidentId: string; engineerId: string };
}
