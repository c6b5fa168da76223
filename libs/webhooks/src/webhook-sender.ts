import { createHmac } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { context, propagation } from '@opentelemetry/api';

import { APP_CONFIG, type AppConfig } from '@app/config';

import type { PendingWebhookEvent } from './delivery.repository.js';

export type DeliveryOutcome =
  | { delivered: true }
  /** `interrupted`: this process is shutting down; the receiver may or may not have seen the request. */
  | { delivered: false; error: string; interrupted: boolean };

const MAX_ERROR_LENGTH = 500;

const STANDARD_SECRET_PREFIX = 'whsec_';

/** `sha256=` + hex HMAC-SHA256 of the exact bytes sent. */
export function webhookSignature(body: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The Standard Webhooks key: the secret's bytes, or the decoded base64 of a `whsec_<base64>` secret. */
export function standardWebhookKey(secret: string): Buffer {
  return secret.startsWith(STANDARD_SECRET_PREFIX)
    ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * The Standard Webhooks headers: the signed content binds the id and this attempt's timestamp to the
 * body, so that a receiver can refuse a captured delivery replayed later.
 */
export function standardWebhookHeaders(id: string, body: Buffer, secret: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000).toString();
  const signature = createHmac('sha256', standardWebhookKey(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

/** One POST of one event; any answer other than a 2xx within the timeout is a failure. */
@Injectable()
export class WebhookSender {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(event: PendingWebhookEvent, shutdown: AbortSignal): Promise<DeliveryOutcome> {
    const { url, secret, timeoutMs } = this.config.webhook;
    if (!url || !secret) throw new Error('Webhook delivery runs only when WEBHOOK_URL and WEBHOOK_SECRET are set');
    const body = Buffer.from(
      JSON.stringify({ id: event.id, type: event.type, occurredAt: event.occurredAt.toISOString(), data: event.payload }),
    );
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'engineer-review-service-webhooks',
      'X-Webhook-Id': event.id,
      'X-Webhook-Signature': webhookSignature(body, secret),
      ...standardWebhookHeaders(event.id, body, secret, new Date()),
    };
    // The trace of the request that caused the event: the delivery span's context when this replica
    // traces (same trace id, the delivery span as parent), else the stored traceparent itself.
    if (event.traceparent) headers.traceparent = event.traceparent;
    propagation.inject(context.active(), headers);
    // A timer of our own, not AbortSignal.timeout(): combined by AbortSignal.any() on Node 20, that
    // signal is only weakly held and a garbage collection can drop it, leaving the request (and the
    // review's delivery job) waiting for ever on a receiver that never answers.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    try {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers,
        // A redirect is not a delivery: following it would re-send the event somewhere unconfigured.
        redirect: 'manual',
        signal: AbortSignal.any([timeout.signal, shutdown]),
      });
      // The answer's body is of no interest; dropping it frees the connection.
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { delivered: true };
      return { delivered: false, error: `HTTP ${response.status}`, interrupted: false };
    } catch (error) {
      if (shutdown.aborted) return { delivered: false, error: 'interrupted: the dispatcher stopped during the request', interrupted: true };
      if ((error as Error).name === 'TimeoutError')
        return { delivered: false, error: `no answer within ${timeoutMs} ms`, interrupted: false };
      return { delivered: false, error: describeFetchError(error).slice(0, MAX_ERROR_LENGTH), interrupted: false };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** fetch reports network failures as "fetch failed" with the useful part in `cause`. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return cause?.message ?? (error as Error).message ?? String(error);
}
