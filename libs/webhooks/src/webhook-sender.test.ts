import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
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

describe('WebhookSender outcomes', () => {
  /** What the receiver does with the next request. */
  let answer: (res: ServerResponse) => void;
  const connections = new Set<unknown>();
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      connections.add(req.socket);
      req.resume();
      req.on('end', () => answer(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  const senderTo = (target: string, timeoutMs = 5_000) =>
    new WebhookSender({ webhook: { url: target, secret: 'a-webhook-secret-of-at-least-32-characters', timeoutMs } } as AppConfig);
  const event = (): PendingWebhookEvent => ({
    id: crypto.randomUUID(),
    reviewId: crypto.randomUUID(),
    type: 'review.assigned',
    occurredAt: new Date(),
    payload: { status: 'assigned' },
    traceparent: null,
  });
  const running = () => new AbortController().signal;

  it('delivers on a 2xx and reuses the connection for the next event', async () => {
    answer = (res) => res.writeHead(200).end('thanks');
    const sender = senderTo(url);
    connections.clear();
    for (let i = 0; i < 3; i++) expect(await sender.send(event(), running())).toEqual({ delivered: true });
    expect(connections.size).toBe(1);
  });

  it('takes any other answer, a redirect included, as a failure, and does not follow it', async () => {
    const sender = senderTo(url);
    answer = (res) => res.writeHead(503).end();
    expect(await sender.send(event(), running())).toEqual({ delivered: false, error: 'HTTP 503', interrupted: false });
    answer = (res) => res.writeHead(302, { Location: `${url}/elsewhere` }).end();
    expect(await sender.send(event(), running())).toEqual({ delivered: false, error: 'HTTP 302', interrupted: false });
  });

  it('gives up on a receiver that does not answer in time, and tells an interrupted attempt apart', async () => {
    answer = () => undefined;
    const slow = senderTo(url, 200);
    expect(await slow.send(event(), running())).toEqual({ delivered: false, error: 'no answer within 200 ms', interrupted: false });
    const stopping = new AbortController();
    const sending = senderTo(url).send(event(), stopping.signal);
    setTimeout(() => stopping.abort(), 50);
    expect(await sending).toEqual({ delivered: false, error: 'interrupted: the dispatcher stopped during the request', interrupted: true });
  });

  it('names the network error when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await senderTo(`http://127.0.0.1:${port}/hook`).send(event(), running());
    expect(outcome).toEqual({ delivered: false, error: `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}`, interrupted: false });
  });
});
