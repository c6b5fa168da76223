import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ReviewEventMessage, streamEvents } from '../../clients/typescript/src/event-stream.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { call } from '../support/http-client.js';
import { assignAndSubmit, decide } from '../support/review-flow.js';
import { adminToken, engineerToken, startAppOn, startTestApp, type TestApp } from '../support/test-app.js';

/** Reads events until `count` arrived (or the time is up), then disconnects. */
async function take(options: Parameters<typeof streamEvents>[0], count: number, timeoutMs = 10_000): Promise<ReviewEventMessage[]> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const events: ReviewEventMessage[] = [];
  try {
    for await (const event of streamEvents({ ...options, signal: stop.signal, reconnect: false })) {
      events.push(event);
      if (events.length >= count) break;
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return events;
}

/** Sequenced events of the run, in stream order. */
async function loggedEvents(t: TestApp, after = 0n): Promise<{ id: string; review_id: string; type: string }[]> {
  const { rows } = await t.sql.query('SELECT id::text, review_id::text, type FROM review_events WHERE position > $1 ORDER BY position', [
    after.toString(),
  ]);
  return rows;
}

async function untilSequenced(t: TestApp): Promise<bigint> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { rows } = await t.sql.query(
      'SELECT count(*) FILTER (WHERE position IS NULL)::int AS pending, max(position) AS last FROM review_events',
    );
    if (rows[0].pending === 0) return BigInt(rows[0].last ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('events were not sequenced within 5 s');
}

describe('GET /api/v1/events', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('records events without WEBHOOK_URL, follows them live, resumes after Last-Event-ID and filters by type and incident', async () => {
    expect(t.config.webhook.url).toBeUndefined();
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const live = take({ baseUrl: t.baseUrl, token: adminToken() }, 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const reviewId = await assignAndSubmit(() => t.baseUrl, incident.id, engineer.id);
    expect((await decide(t.baseUrl, incident.id)).status).toBe(200);
    const events = await live;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(events.map((event) => event.type)).toEqual(['review.assigned', 'review.started', 'review.submitted', 'review.decided']);
    expect(events[3]).toMatchObject({ data: { id: reviewId, status: 'accepted', decision: 'engineer_approach' } });
    expect(new Date(events[3]!.occurredAt).toISOString()).toBe(events[3]!.occurredAt);

    const resumed = await take({ baseUrl: t.baseUrl, token: adminToken(), lastEventId: events[1]!.id }, 2);
    expect(resumed.map((event) => event.id)).toEqual([events[2]!.id, events[3]!.id]);

    const decidedOnly = await take(
      { baseUrl: t.baseUrl, token: adminToken(), lastEventId: events[0]!.id, types: ['review.decided'], incidentId: incident.id },
      1,
    );
    expect(decidedOnly.map((event) => event.id)).toEqual([events[3]!.id]);
  });

  it('answers 409 EVENT_ID_EXPIRED for an unknown, malformed or purged Last-Event-ID', async () => {
    for (const id of ['3f1c6c1e-0000-4000-8000-000000000000', 'not-an-id']) {
      const res = await call(t.baseUrl, 'GET', '/api/v1/events', adminToken(), undefined, { 'Last-Event-ID': id });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('EVENT_ID_EXPIRED');
    }
    const query = await call(t.baseUrl, 'GET', '/api/v1/events?types=review.nothing', adminToken());
    expect(query.status).toBe(400);
  });

  it("shows an engineer only their own reviews' events, and not another's event as a resume point", async () => {
    const [mine, theirs] = [await createEngineer(t), await createEngineer(t)];
    const [first, second] = [await createIncident(t), await createIncident(t)];
    const own = take({ baseUrl: t.baseUrl, token: engineerToken(mine.id) }, 3, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await assignAndSubmit(() => t.baseUrl, second.id, theirs.id);
    const reviewId = await assignAndSubmit(() => t.baseUrl, first.id, mine.id);
    const events = await own;
    expect(events.map((event) => [event.data.id, event.type])).toEqual([
      [reviewId, 'review.assigned'],
      [reviewId, 'review.started'],
      [reviewId, 'review.submitted'],
    ]);
    const { rows } = await t.sql.query<{ id: string }>('SELECT id::text FROM review_events WHERE engineer_id = $1 LIMIT 1', [theirs.id]);
    const res = await call(t.baseUrl, 'GET', '/api/v1/events', engineerToken(mine.id), undefined, { 'Last-Event-ID': rows[0]!.id });
    expect(res.status).toBe(409);
  });

  it('does not skip an event whose transaction drew its seq first but commits last', async () => {
    const engineer = await createEngineer(t);
    const [before, early, late] = [await createIncident(t), await createIncident(t), await createIncident(t)];
    expect(
      (await call(t.baseUrl, 'POST', '/api/v1/reviews', adminToken(), { incidentId: before.id, engineerId: engineer.id })).status,
    ).toBe(201);
    const last = await untilSequenced(t);
    const [{ id: resumeAfter }] = (await t.sql.query('SELECT id::text FROM review_events WHERE position = $1', [last.toString()])).rows;
    const slow = await t.sql.connect();
    try {
      await slow.query('BEGIN');
      // What OutboxService.publish does in a use case's transaction: take the gate, draw a seq.
      await slow.query('SELECT pg_advisory_xact_lock_shared($1)', [0xe7e1]);
      await slow.query(
        `INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
         VALUES (gen_random_uuid(), 'review.escalated', gen_random_uuid(), $1, $2, now(), '{}')`,
        [late.id, engineer.id],
      );
      const assigned = await call(t.baseUrl, 'POST', '/api/v1/reviews', adminToken(), { incidentId: early.id, engineerId: engineer.id });
      expect(assigned.status).toBe(201);
      const whileOpen = await take({ baseUrl: t.baseUrl, token: adminToken(), lastEventId: resumeAfter }, 1, 1_000);
      expect(whileOpen, 'nothing is streamed while an earlier seq is uncommitted').toEqual([]);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    const events = await take({ baseUrl: t.baseUrl, token: adminToken(), lastEventId: resumeAfter }, 2);
    expect(events.map((event) => [event.type, event.data.incidentId ?? late.id])).toEqual([
      ['review.escalated', late.id],
      ['review.assigned', early.id],
    ]);
  });

  it('purges events past retention in batches, keeping the newest so positions never restart', async () => {
    const before = await untilSequenced(t);
    await t.sql.query(`UPDATE review_events SET occurred_at = occurred_at - interval '200 hours'`);
    const { EventSequencer } = await import('@app/webhooks');
    const purged = await t.app.get(EventSequencer).purgeExpired();
    const { rows } = await t.sql.query('SELECT max(position) AS last, count(*)::int AS left FROM review_events');
    expect(purged).toBeGreaterThan(0);
    expect(rows[0]).toEqual({ last: before.toString(), left: 1 });
  });

  it('sends a keep-alive comment every 15 s on an idle stream', { timeout: 30_000 }, async () => {
    const stop = new AbortController();
    const res = await fetch(`${t.baseUrl}/api/v1/events?types=review.escalated`, {
      headers: { Authorization: `Bearer ${adminToken()}` },
      signal: stop.signal,
    });
    const started = Date.now();
    const reader = res.body!.getReader();
    const first = await reader.read();
    stop.abort();
    expect(new TextDecoder().decode(first.value)).toBe(': keep-alive\n\n');
    expect(Date.now() - started).toBeGreaterThan(14_000);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('ends open streams cleanly when the replica shuts down', async () => {
    const replica = await startAppOn(t.databaseName, t.sql);
    const res = await fetch(`${replica.baseUrl}/api/v1/events`, { headers: { Authorization: `Bearer ${adminToken()}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const closed = replica.close();
    const body = await res.text();
    await closed;
    expect(body).toBe('');
  });
});

describe('GET /api/v1/events across replicas', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startAppOn(a.databaseName, a.sql);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('delivers every event of concurrent writers on two replicas exactly once, in per-review order, to a reader that keeps disconnecting', async () => {
    const replicas = [a.baseUrl, b.baseUrl];
    const engineers = await Promise.all(Array.from({ length: 8 }, () => createEngineer(a, { maxConcurrentReviews: 10 })));
    const incidents = await Promise.all(Array.from({ length: 40 }, () => createIncident(a)));
    // A first event as the resume point, so the reader starts exactly where the run does.
    const seed = await call(a.baseUrl, 'POST', '/api/v1/reviews', adminToken(), {
      incidentId: incidents[0]!.id,
      engineerId: engineers[0]!.id,
    });
    expect(seed.status).toBe(201);
    const start = await untilSequenced(a);
    const [{ id: seedEventId }] = (await a.sql.query('SELECT id::text FROM review_events WHERE position = $1', [start.toString()])).rows;

    let writing = true;
    const writers = (async () => {
      const queue = incidents.slice(1).map((incident, index) => ({ incident, engineer: engineers[index % engineers.length]! }));
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let job = queue.shift(); job; job = queue.shift()) {
            await assignAndSubmit((step) => replicas[(step + queue.length) % 2]!, job.incident.id, job.engineer.id);
            expect((await decide(replicas[queue.length % 2]!, job.incident.id)).status).toBe(200);
          }
        }),
      );
      await untilSequenced(a);
      writing = false;
    })();

    const received: ReviewEventMessage[] = [];
    let lastEventId = seedEventId as string;
    let connections = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const expected = writing ? Number.POSITIVE_INFINITY : (await loggedEvents(a, start)).length;
      if (received.length >= expected || Date.now() > deadline) break;
      connections += 1;
      const batch = await take(
        { baseUrl: replicas[connections % 2]!, token: adminToken(), lastEventId },
        1 + Math.floor(Math.random() * 12),
        50 + Math.random() * 250,
      );
      received.push(...batch);
      if (batch.length > 0) lastEventId = batch.at(-1)!.id;
    }
    await writers;

    const logged = await loggedEvents(a, start);
    expect(logged.length).toBe(39 * 4);
    expect(connections).toBeGreaterThan(10);
    const ids = received.map((event) => event.id);
    expect(new Set(ids).size, 'no event twice').toBe(ids.length);
    expect(ids.sort()).toEqual(logged.map((event) => event.id).sort());
    const perReview = new Map<string, string[]>();
    for (const event of received) perReview.set(event.data.id as string, [...(perReview.get(event.data.id as string) ?? []), event.type]);
    for (const types of perReview.values())
      expect(types).toEqual(['review.assigned', 'review.started', 'review.submitted', 'review.decided']);
  });
});
