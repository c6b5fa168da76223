import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AppConfig } from '@app/config';

import type { PendingWebhookEvent } from './delivery.repository.js';
import { WebhookSender } from './webhook-sender.js';

// Without the tracing SDK (as here), a delivery still carries the traceparent stored with its
// event, so that a receiver that traces joins the trace of the request that caused the event.

describe('WebhookSender without tracing', () => {
  const received: IncomingHttpHeaders[] = [];
  let server: Server;
  let sender: WebhookSender;

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    sender = new WebhookSender({ webhook: { url, secret: 'a-webhook-secret-of-at-least-32-characters', timeoutMs: 5_000 } } as AppConfig);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const event = (traceparent: string | null): PendingWebhookEvent => ({
    id: crypto.randomUUID(),
    reviewId: crypto.randomUUID(),
    type: 'review.assigned',
    occurredAt: new Date(),
    payload: {},
    traceparent,
  });

  it('sends the stored traceparent as it is', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(await sender.send(event(traceparent), new AbortController().signal)).toEqual({ delivered: true });
    expect(received.at(-1)?.traceparent).toBe(traceparent);
  });

  it('sends no traceparent for an event recorded without one', async () => {
    expect(await sender.send(event(null), new AbortController().signal)).toEqual({ delivered: true });
    expect(received.at(-1)).not.toHaveProperty('traceparent');
  });
});
