import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';

import { OutboxPurger } from '@app/webhooks';

import { cloneTemplate, dropDatabase, testPool, withAdmin } from '../support/database.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, serviceToken, startAppOn, startTestApp, type TestApp } from '../support/test-app.js';
import { lockJobAs } from '../support/webhook-jobs.js';

const SECRET = 'webhook-test-secret';
const admin = bearer(adminToken());
/** Retries after 50, 100, 200 … ms instead of 1, 2, 4 … s. */
const FAST_RETRIES = { WEBHOOK_SECRET: SECRET, WEBHOOK_BACKOFF_BASE_MS: '50' };

type Reply = number | 'hang';

interface ReceivedRequest {
  id: string;
  signature: string;
  contentType: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: { id: string; type: string; occurredAt: string; data: Record<string, any> };
  reply: Reply;
  at: number;
}

interface Receiver {
  url: string;
  received: ReceivedRequest[];
  /** Decides the answer to the n-th request (0-based). */
  reply: (n: number) => Reply;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that records every request and answers as scripted. */
async function startReceiver(reply: (n: number) => Reply): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const receiver: Receiver = { url: '', received, reply, close: () => Promise.resolve() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const headers: IncomingHttpHeaders = req.headers;
      const answer = receiver.reply(received.length);
      received.push({
        id: String(headers['x-webhook-id']),
        signature: String(headers['x-webhook-signature']),
        contentType: String(headers['content-type']),
        headers,
        raw,
        body: JSON.parse(raw.toString('utf8')),
        reply: answer,
        at: Date.now(),
      });
      if (answer !== 'hang') res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The Standard Webhooks headers as a receiver hands them to the library. */
function standardHeaders(delivery: ReceivedRequest): Record<string, string> {
  const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature } = delivery.headers;
  return { 'webhook-id': String(id), 'webhook-timestamp': String(timestamp), 'webhook-signature': String(signature) };
}

/** The library reads a secret as base64; a plain secret's key is its bytes. */
const standardVerifier = (secret: string): Webhook =>
  new Webhook(secret.startsWith('whsec_') ? secret : Buffer.from(secret).toString('base64'));

function expectSigned(delivery: ReceivedRequest): void {
  expect(delivery.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(delivery.raw).digest('hex')}`);
  expect(delivery.contentType).toMatch(/^application\/json/);
  expect(delivery.id).toBe(delivery.body.id);
  expect(standardVerifier(SECRET).verify(delivery.raw, standardHeaders(delivery))).toEqual(delivery.body);
  expect(delivery.headers['webhook-id']).toBe(delivery.body.id);
  // The timestamp is the attempt's own, so that each retry is fresh and a replay of it ages.
  expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - delivery.at / 1000)).toBeLessThan(5);
}

/** The event ids a review's requests carried, with back-to-back repeats (retries) folded into one. */
function idsInArrivalOrder(received: ReceivedRequest[], reviewId: string): string[] {
  const ids = received.filter((delivery) => delivery.body.data.id === reviewId).map((delivery) => delivery.id);
  return ids.filter((id, index) => id !== ids[index - 1]);
}

async function outboxOf(
  sql: pg.Pool,
  reviewId: string,
): Promise<{ id: string; type: string; attempts: number; lastError: string | null; delivered: boolean }[]> {
  const { rows } = await sql.query(
    `SELECT id::text, type, attempts, last_error AS "lastError", delivered_at IS NOT NULL AS delivered
     FROM webhook_events WHERE review_id = $1 ORDER BY occurred_at, id`,
    [reviewId],
  );
  return rows;
}

async function undelivered(sql: pg.Pool): Promise<number> {
  const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events WHERE delivered_at IS NULL');
  return rows[0].n;
}

describe('webhook delivery', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('delivers every event of a lifecycle and a reassign, signed, in order per review, retrying failures with stable ids', async () => {
    // First request: 500; second: no answer within the 1 s timeout; then 200.
    const receiver = await startReceiver((n) => (n === 0 ? 500 : n === 1 ? 'hang' : 200));
    cleanups.push(() => receiver.close());
    const t = await startTestApp({ ...FAST_RETRIES, WEBHOOK_URL: receiver.url, WEBHOOK_TIMEOUT_MS: '1000' });
    cleanups.push(() => t.close());

    const first = await createEngineer(t);
    const second = await createEngineer(t);
    const decidedIncident = await createIncident(t);
    const reassignedIncident = await createIncident(t);
    const review = (await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: decidedIncident.id, engineerId: first.id })).body;
    const mine = bearer(engineerToken(first.id));
    expect((await t.http.post(`/api/v1/reviews/${review.id}/start`).set(mine)).status).toBe(200);
    expect((await t.http.post(`/api/v1/reviews/${review.id}/submit`).set(mine).send({ approach: 'Fail over' })).status).toBe(200);
    const decision = await t.http
      .post(`/api/v1/incidents/${decidedIncident.id}/decision`)
      .set(admin)
      .send({ decision: 'engineer_approach', rationale: 'Safer' });
    expect(decision.status).toBe(200);
    const old = (await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: reassignedIncident.id, engineerId: first.id })).body;
    const reassigned = await t.http
      .post(`/api/v1/reviews/${old.id}/reassign`)
      .set(admin)
      .send({ engineerId: second.id, reason: 'Rebalance' });
    expect(reassigned.status).toBe(201);
    const replacement = reassigned.body;

    await waitFor(
      'all 7 events delivered',
      async () => (await undelivered(t.sql)) === 0 && receiver.received.filter((d) => d.reply === 200).length >= 7,
      30_000,
    );

    for (const delivery of receiver.received) expectSigned(delivery);
    const delivered = receiver.received.filter((delivery) => delivery.reply === 200);
    expect(delivered).toHaveLength(7);
    expect(new Set(delivered.map((delivery) => delivery.id)).size).toBe(7);
    const typesOf = (reviewId: string): string[] => delivered.filter((d) => d.body.data.id === reviewId).map((d) => d.body.type);
    expect(typesOf(review.id)).toEqual(['review.assigned', 'review.started', 'review.submitted', 'review.decided']);
    expect(typesOf(old.id)).toEqual(['review.assigned', 'review.reassigned']);
    expect(typesOf(replacement.id)).toEqual(['review.assigned']);
    expect(delivered.some((delivery) => delivery.body.type === 'review.cancelled')).toBe(false);

    // Order per review held for every request, failed ones included: a retry came before any later event.
    for (const reviewId of [review.id, old.id, replacement.id]) {
      expect(idsInArrivalOrder(receiver.received, reviewId)).toEqual((await outboxOf(t.sql, reviewId)).map((event) => event.id));
    }

    // The failed requests were retried with the same id and the same bytes.
    const [refused, timedOut] = receiver.received;
    expect(refused.reply).toBe(500);
    expect(timedOut.reply).toBe('hang');
    for (const failed of [refused, timedOut]) {
      const retry = delivered.find((delivery) => delivery.id === failed.id)!;
      expect(retry).toBeDefined();
      expect(retry.raw.equals(failed.raw)).toBe(true);
    }

    // The payload is { id, type, occurredAt, data: Review as the API showed it }.
    const decided = delivered.find((d) => d.body.type === 'review.decided')!;
    expect(Object.keys(decided.body).sort()).toEqual(['data', 'id', 'occurredAt', 'type']);
    expect(decided.body.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(decided.body.data).toEqual(decision.body);
    expect(delivered.find((d) => d.body.type === 'review.reassigned')!.body.data).toMatchObject({
      id: old.id,
      status: 'cancelled',
      cancellationReason: 'Rebalance',
    });
    expect(delivered.find((d) => d.body.data.id === replacement.id)!.body.data).toEqual(replacement);

    // Delivery state is recorded per event and counted in the metrics.
    const { rows } = await t.sql.query<{ id: string; attempts: number; lastError: string | null }>(
      'SELECT id::text, attempts, last_error AS "lastError" FROM webhook_events WHERE id = ANY($1::uuid[])',
      [[refused.id, timedOut.id]],
    );
    const state = new Map(rows.map((row) => [row.id, row]));
    expect(state.get(refused.id)?.lastError ?? '').toMatch(/HTTP 500|no answer within 1000 ms/);
    expect(state.get(timedOut.id)?.lastError ?? '').toMatch(/HTTP 500|no answer within 1000 ms/);
    expect(rows.reduce((sum, row) => sum + row.attempts, 0)).toBe(refused.id === timedOut.id ? 3 : 4);
    const metrics = (await t.http.get('/metrics')).text;
    expect(metrics).toContain('webhook_deliveries_total{outcome="delivered"} 7');
    expect(metrics).toContain('webhook_deliveries_total{outcome="failed"} 2');
  });

  it("signs for the Standard Webhooks libraries with a whsec_ secret and each attempt's own timestamp; a replay after the tolerance is refused", async () => {
    const secret = `whsec_${Buffer.from('a Standard Webhooks key of 32 bytes').toString('base64')}`;
    const receiver = await startReceiver((n) => (n === 0 ? 503 : 204));
    cleanups.push(() => receiver.close());
    const t = await startTestApp({ WEBHOOK_SECRET: secret, WEBHOOK_URL: receiver.url, WEBHOOK_BACKOFF_BASE_MS: '500' });
    cleanups.push(() => t.close());

    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    expect((await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: engineer.id })).status).toBe(201);
    await waitFor('the first attempt', () => receiver.received.length > 0);
    // The event is an hour old by the retry: the retry's timestamp is still its own, not the event's.
    await t.sql.query(`UPDATE webhook_events SET occurred_at = occurred_at - interval '1 hour'`);
    const delivery = await waitFor('the retry delivered', () => receiver.received.find((request) => request.reply === 204));
    expect(Date.parse(delivery!.body.occurredAt)).toBeLessThan(Date.now() - 3_500_000);
    expect(Math.abs(Number(delivery!.headers['webhook-timestamp']) - delivery!.at / 1000)).toBeLessThan(5);

    const verifier = standardVerifier(secret);
    expect(verifier.verify(delivery!.raw, standardHeaders(delivery!))).toMatchObject({ type: 'review.assigned' });
    // The key is the decoded base64, not the text after the prefix.
    expect(() => standardVerifier(Buffer.from(secret).toString('base64')).verify(delivery!.raw, standardHeaders(delivery!))).toThrow(
      /signature/,
    );
    const tampered = Buffer.from(delivery!.raw.toString('utf8').replace('review.assigned', 'review.cancelled'));
    expect(() => verifier.verify(tampered, standardHeaders(delivery!))).toThrow(/signature/);
    // The same captured request, replayed ten minutes later.
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now + 10 * 60_000);
    try {
      expect(() => verifier.verify(delivery!.raw, standardHeaders(delivery!))).toThrow(/too old/);
    } finally {
      vi.restoreAllMocks();
    }
    // A replay with a fresh timestamp header no longer matches the signature.
    const refreshed = { ...standardHeaders(delivery!), 'webhook-timestamp': String(Math.floor(Date.now() / 1000) + 60) };
    expect(() => verifier.verify(delivery!.raw, refreshed)).toThrow(/signature/);
  });

  it('lists undelivered events with their attempts to admins while the receiver fails, and delivers them in order once it recovers', async () => {
    const receiver = await startReceiver(() => 503);
    cleanups.push(() => receiver.close());
    const t: TestApp = await startTestApp({ ...FAST_RETRIES, WEBHOOK_URL: receiver.url });
    cleanups.push(() => t.close());

    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const review = (await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: engineer.id })).body;
    expect((await t.http.post(`/api/v1/reviews/${review.id}/start`).set(bearer(engineerToken(engineer.id)))).status).toBe(200);
    const [assigned, started] = await outboxOf(t.sql, review.id);

    const list = (query: string) => t.http.get(`/api/v1/webhooks/events${query}`).set(admin);
    const page = await waitFor('five failed attempts', async () => {
      const res = await list(`?reviewId=${review.id}`);
      return res.body.items?.[0]?.attempts >= 5 && res;
    });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 2, page: 1, pageSize: 20, totalPages: 1 });
    const [head, waiting] = page.body.items;
    expect(head).toMatchObject({
      id: assigned.id,
      type: 'review.assigned',
      reviewId: review.id,
      status: 'failed',
      lastError: 'HTTP 503',
      deliveredAt: null,
    });
    expect(Date.parse(head.lastAttemptAt)).toBeGreaterThan(Date.parse(head.occurredAt) - 1);
    expect(Date.parse(head.nextAttemptAt)).toBeGreaterThan(Date.parse(head.occurredAt));
    expect(waiting).toEqual({
      id: started.id,
      type: 'review.started',
      reviewId: review.id,
      occurredAt: expect.any(String),
      status: 'pending',
      attempts: 0,
      lastAttemptAt: null,
      lastError: null,
      nextAttemptAt: null,
      deliveredAt: null,
    });
    // The later event waits for the earlier one: the receiver has only seen the first.
    expect(new Set(receiver.received.map((delivery) => delivery.id))).toEqual(new Set([assigned.id]));
    // Back-off: the k-th retry comes at least 50 ms · 2^(k-1) − 20 % after the previous attempt (a busy
    // machine can only make it later), not at a fixed pace.
    const gaps = receiver.received.slice(1, 5).map((delivery, i) => delivery.at - receiver.received[i].at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(0.8 * 50 * 2 ** i - 5));

    expect((await list('?status=failed')).body.items.map((item: { id: string }) => item.id)).toEqual([assigned.id]);
    expect((await list('?status=pending&pageSize=1')).body).toMatchObject({ total: 1, items: [{ id: started.id }] });
    expect((await list('?status=delivered')).body).toEqual({ items: [], total: 0, page: 1, pageSize: 20, totalPages: 1 });
    expect((await list('?type=review.started')).body.items.map((item: { id: string }) => item.id)).toEqual([started.id]);

    expect((await t.http.get('/api/v1/webhooks/events')).status).toBe(401);
    expect((await t.http.get('/api/v1/webhooks/events').set(bearer(serviceToken()))).status).toBe(403);
    expect((await t.http.get('/api/v1/webhooks/events').set(bearer(engineerToken(engineer.id)))).status).toBe(403);
    for (const [query, field] of [
      ['?status=lost', 'status'],
      ['?status=', 'status'],
      ['?reviewId=42', 'reviewId'],
      ['?type=review.exploded', 'type'],
      ['?pageSize=101', 'pageSize'],
    ]) {
      const res = await list(query);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors.map((error: { field: string }) => error.field.split('.')[0])).toContain(field);
    }

    receiver.reply = () => 200;
    await waitFor('recovery', async () => (await undelivered(t.sql)) === 0, 10_000);
    const delivered = receiver.received.filter((delivery) => delivery.reply === 200).map((delivery) => delivery.id);
    expect(delivered).toEqual([assigned.id, started.id]);
    expect((await list('')).body.total).toBe(0);
    const history = (await list('?status=delivered')).body.items;
    expect(history.map((item: { id: string }) => item.id)).toEqual([assigned.id, started.id]);
    expect(history[0]).toMatchObject({ status: 'delivered', lastError: 'HTTP 503', nextAttemptAt: null });
    expect(history[0].attempts).toBe(receiver.received.filter((delivery) => delivery.id === assigned.id).length);
    expect(history[1]).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
  });

  it('resumes delivery by itself after the dispatcher loses its database connections mid-delivery', async () => {
    // While the "outage" lasts the receiver never answers, so requests are in flight when the
    // dispatcher's connections are cut and the jobs cannot be completed, failed or re-scheduled.
    let outage = true;
    const receiver = await startReceiver(() => (outage ? 'hang' : 200));
    cleanups.push(() => receiver.close());
    const t = await startTestApp({ ...FAST_RETRIES, WEBHOOK_URL: receiver.url, WEBHOOK_TIMEOUT_MS: '1000' });
    cleanups.push(() => t.close());

    const engineer = await createEngineer(t, { maxConcurrentReviews: 20 });
    const reviews: { id: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const incident = await createIncident(t);
      reviews.push((await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: engineer.id })).body);
    }
    await waitFor('requests in flight', () => receiver.received.length >= 3);

    // A database cannot refuse connections while connected to itself: switch it from another one.
    await withAdmin(async (server) => {
      await server.query(`ALTER DATABASE "${t.databaseName}" ALLOW_CONNECTIONS false`);
      try {
        // The database refuses the dispatcher for 2.5 s: in-flight requests time out meanwhile.
        for (let i = 0; i < 5; i++) {
          await server.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'engineer-review-service:webhooks'`,
            [t.databaseName],
          );
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      } finally {
        await server.query(`ALTER DATABASE "${t.databaseName}" ALLOW_CONNECTIONS true`);
      }
    });
    outage = false;

    // Events recorded after the outage, and those caught in it, are delivered without a restart
    // and long before the 5-minute sweep for jobs of dead workers.
    for (const review of reviews) {
      expect((await t.http.post(`/api/v1/reviews/${review.id}/start`).set(bearer(engineerToken(engineer.id)))).status).toBe(200);
    }
    await waitFor('every event delivered after the outage', async () => (await undelivered(t.sql)) === 0, 30_000);
    for (const review of reviews) {
      const events = await outboxOf(t.sql, review.id);
      expect(events.map((event) => event.type)).toEqual(['review.assigned', 'review.started']);
      const accepted = receiver.received.filter((delivery) => delivery.reply === 200 && delivery.body.data.id === review.id);
      expect(accepted.map((delivery) => delivery.id)).toEqual(events.map((event) => event.id));
    }
    // Jobs the dead worker held are gone, not left behind as failed ones (jobs queued before the
    // outage may still be running, finding nothing left to send).
    await waitFor('no job left behind', async () => {
      const { rows } = await t.sql.query('SELECT id FROM graphile_worker.jobs WHERE attempts >= max_attempts OR locked_by IS NOT NULL');
      return rows.length === 0;
    });
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toMatch(/^webhook_dispatcher_restarts_total [1-9]/m);
  });

  it('records events while the job queue is not installed (the database was away at start) and queues them in a batch job once it is', async () => {
    const receiver = await startReceiver(() => 200);
    cleanups.push(() => receiver.close());
    const databaseName = await cloneTemplate(inject('templateDatabase'));
    cleanups.push(() => dropDatabase(databaseName));
    const sql = testPool(databaseName, 2);
    cleanups.push(() => sql.end());
    await withAdmin((server) => server.query(`ALTER DATABASE "${databaseName}" ALLOW_CONNECTIONS false`));
    // Delivery is off so that only the enqueuer installs the queue and adds the job.
    const t = await startAppOn(databaseName, sql, { ...FAST_RETRIES, WEBHOOK_URL: receiver.url, WEBHOOK_DELIVERY_ENABLED: 'false' });
    cleanups.push(() => t.close());
    await withAdmin((server) => server.query(`ALTER DATABASE "${databaseName}" ALLOW_CONNECTIONS true`));

    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const assigned = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: engineer.id });
    expect(assigned.status).toBe(201);
    expect((await outboxOf(sql, assigned.body.id)).map((event) => event.type)).toEqual(['review.assigned']);
    // Until graphile-worker's migrations have run, its view is missing or incomplete.
    const jobs = await waitFor("the review's delivery job", () =>
      sql.query('SELECT key FROM graphile_worker.jobs').then(
        ({ rows }) => rows.length > 0 && rows,
        () => undefined,
      ),
    );
    expect(jobs).toEqual([{ key: expect.stringMatching(new RegExp(`^webhooks:batch:${assigned.body.id.slice(-1)}:\\d+$`)) }]);
    const { rows: payloads } = await sql.query('SELECT payload FROM graphile_worker._private_jobs');
    expect(payloads).toEqual([{ payload: [assigned.body.id] }]);
    const { rows: unqueued } = await sql.query(
      'SELECT count(*)::int AS n FROM review_events r, webhook_queue_cursor c WHERE r.position IS NULL OR r.position > c.position',
    );
    expect(unqueued).toEqual([{ n: 0 }]);
  });

  it('loses nothing when the dispatcher stops mid-delivery or dies holding a job, and never blocks the API', async () => {
    // The first request never gets an answer; every later one is accepted.
    const receiver = await startReceiver((n) => (n === 0 ? 'hang' : 200));
    cleanups.push(() => receiver.close());
    const databaseName = await cloneTemplate(inject('templateDatabase'));
    cleanups.push(() => dropDatabase(databaseName));
    const sql = testPool(databaseName, 2);
    cleanups.push(() => sql.end());
    const env = { ...FAST_RETRIES, WEBHOOK_URL: receiver.url };

    const first = await startAppOn(databaseName, sql, env);
    cleanups.push(() => first.close());
    const engineer = await createEngineer(first);
    const incident = await createIncident(first);
    const review = (await first.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: engineer.id })).body;
    await waitFor('the first request to arrive', () => receiver.received.length === 1);
    // The receiver holds the request for up to 10 s; the API does not wait for it.
    const startedAt = Date.now();
    expect((await first.http.post(`/api/v1/reviews/${review.id}/start`).set(bearer(engineerToken(engineer.id)))).status).toBe(200);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    // Stopping abandons the request at once instead of waiting for its 10 s timeout (or graphile-worker's 5 s abort).
    const closing = Date.now();
    await first.close();
    expect(Date.now() - closing).toBeLessThan(4_000);
    const afterStop = await outboxOf(sql, review.id);
    expect(afterStop.map(({ type, attempts, delivered }) => ({ type, attempts, delivered }))).toEqual([
      { type: 'review.assigned', attempts: 1, delivered: false },
      { type: 'review.started', attempts: 0, delivered: false },
    ]);
    expect(afterStop[0].lastError).toMatch(/interrupted/);

    // A replica without delivery records events (and their jobs) but sends nothing.
    const recorder = await startAppOn(databaseName, sql, { ...env, WEBHOOK_DELIVERY_ENABLED: 'false' });
    cleanups.push(() => recorder.close());
    const submitted = await recorder.http
      .post(`/api/v1/reviews/${review.id}/submit`)
      .set(bearer(engineerToken(engineer.id)))
      .send({ approach: 'Roll back' });
    expect(submitted.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    await recorder.close();

    // Simulate a worker that took the review's job and was killed: job and queue stay locked.
    expect(await lockJobAs(sql, `webhooks:review:${review.id}`, 'pool-killed', '10 minutes')).toBe(1);

    const restarted = await startAppOn(databaseName, sql, env);
    cleanups.push(() => restarted.close());
    await waitFor('delivery after the restart', async () => (await undelivered(sql)) === 0);
    const events = await outboxOf(sql, review.id);
    expect(events.map((event) => event.type)).toEqual(['review.assigned', 'review.started', 'review.submitted']);
    const accepted = receiver.received.filter((delivery) => delivery.reply === 200);
    expect(accepted.map((delivery) => delivery.id)).toEqual(events.map((event) => event.id));
    expect(accepted[0].raw.equals(receiver.received[0].raw)).toBe(true);
    for (const delivery of receiver.received) expectSigned(delivery);
  });

  it('purges events delivered more than WEBHOOK_RETENTION_HOURS ago in bounded batches, earliest delivery first, and keeps undelivered ones', async () => {
    const t = await startTestApp({ WEBHOOK_RETENTION_HOURS: '24' });
    cleanups.push(() => t.close());
    await t.sql.query(`
      INSERT INTO webhook_events (type, review_id, occurred_at, payload, delivered_at, attempts)
      SELECT 'expired-' || i, gen_random_uuid(), now() - interval '26 hours', '{}'::jsonb, now() - interval '25 hours' - i * interval '1 second', 1
      FROM generate_series(1, 2500) i
      UNION ALL
      SELECT 'recent', gen_random_uuid(), now() - interval '26 hours', '{}', now() - interval '23 hours', 1 FROM generate_series(1, 10)
      UNION ALL
      SELECT 'undelivered', gen_random_uuid(), now() - interval '30 days', '{}', NULL, 40 FROM generate_series(1, 10)`);
    const remaining = async (): Promise<Record<string, number>> => {
      const { rows } = await t.sql.query<{ kind: string; n: number }>(
        `SELECT split_part(type, '-', 1) AS kind, count(*)::int AS n FROM webhook_events GROUP BY 1`,
      );
      return Object.fromEntries(rows.map((row) => [row.kind, row.n]));
    };
    const purger = t.app.get(OutboxPurger);
    expect(await purger.purge({ batchSize: 1_000, maxBatches: 2 })).toEqual([1_000, 1_000]);
    expect(await remaining()).toEqual({ expired: 500, recent: 10, undelivered: 10 });
    const { rows: left } = await t.sql.query<{ newest: string }>(
      `SELECT max(split_part(type, '-', 2)::int)::text AS newest FROM webhook_events WHERE type LIKE 'expired-%'`,
    );
    expect(left[0].newest, 'the earliest deliveries went first').toBe('500');
    expect(await purger.purge({ batchSize: 1_000, maxBatches: 2 })).toEqual([500]);
    expect(await remaining()).toEqual({ recent: 10, undelivered: 10 });
  });
});
