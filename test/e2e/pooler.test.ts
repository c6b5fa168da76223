import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { cloneTemplate, databaseUrl, dropDatabase, testPool } from '../support/database.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { call, countBy } from '../support/http-client.js';
import { invariantViolations } from '../support/invariants.js';
import { pgbouncerMissing, type Pooler, startPgbouncer } from '../support/pgbouncer.js';
import { adminToken, startAppOn, type TestApp } from '../support/test-app.js';

// Two replicas whose DATABASE_URL is a real PgBouncer in transaction mode, with DATABASE_DIRECT_URL
// for what a pooler cannot carry (the webhook worker's LISTEN and session state, migrations).

const missing = pgbouncerMissing();
if (missing) console.warn(`pooler tests skipped: ${missing}`);

const admin = adminToken();
const N = 40;

describe.skipIf(missing !== undefined)('behind PgBouncer in transaction mode', () => {
  let pooler: Pooler;
  let databaseName: string;
  let replicas: TestApp[];
  /** A third replica with a short LOCK_TIMEOUT_MS, for the lock-wait check alone. */
  let impatient: TestApp | undefined;
  let receiver: Server;
  const delivered: { type: string; reviewId: string }[] = [];
  let sql: ReturnType<typeof testPool>;

  beforeAll(async () => {
    pooler = await startPgbouncer(10);
    databaseName = await cloneTemplate(inject('templateDatabase'));
    sql = testPool(databaseName, 4);
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        const event = JSON.parse(raw) as { type: string; data: { id: string } };
        delivered.push({ type: event.type, reviewId: event.data.id });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const env = {
      DATABASE_URL: pooler.url(databaseName),
      DATABASE_DIRECT_URL: databaseUrl(databaseName),
      DATABASE_POOL_MAX: '10',
      WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
      WEBHOOK_SECRET: 'pooler-test-webhook-secret-0123456789',
      WEBHOOK_BACKOFF_BASE_MS: '50',
    };
    replicas = [await startAppOn(databaseName, sql, env), await startAppOn(databaseName, sql, env)];
    impatient = await startAppOn(databaseName, sql, { ...env, LOCK_TIMEOUT_MS: '1000', WEBHOOK_DELIVERY_ENABLED: 'false' });
  });

  afterAll(async () => {
    for (const replica of [...(replicas ?? []), impatient]) await replica?.close();
    await sql?.end();
    await pooler?.stop();
    receiver?.closeAllConnections();
    receiver?.close();
    if (databaseName) await dropDatabase(databaseName);
  });

  const replica = (index: number): TestApp => replicas[index % replicas.length]!;

  it('serves the API through the pooler: PgBouncer counts its transactions', async () => {
    const before = await pooler.transactions(databaseName);
    const ready = await call(replica(0).baseUrl, 'GET', '/health/ready', admin);
    expect(ready.status).toBe(200);
    await createEngineer(replica(1));
    expect(await pooler.transactions(databaseName)).toBeGreaterThan(before);
  });

  it(`concurrency storm across both replicas: ${N} assignments to one engineer of capacity 3, exactly 3 succeed`, async () => {
    const engineer = await createEngineer(replica(0), { maxConcurrentReviews: 3 });
    const incidents = await Promise.all(Array.from({ length: N }, (_, i) => createIncident(replica(i))));
    const results = await Promise.all(
      incidents.map((incident, i) =>
        call(replica(i).baseUrl, 'POST', '/api/v1/reviews', admin, { incidentId: incident.id, engineerId: engineer.id }),
      ),
    );
    expect(countBy(results, (r) => `${r.status}:${r.body.code ?? ''}`)).toEqual({ '201:': 3, '409:ENGINEER_AT_CAPACITY': N - 3 });
    expect(await invariantViolations(sql)).toEqual([]);
  });

  it('escalation passes on both replicas at once escalate each overdue review exactly once', async () => {
    const engineers = await Promise.all(Array.from({ length: 5 }, () => createEngineer(replica(1), { maxConcurrentReviews: 5 })));
    const reviewIds: string[] = [];
    for (const [i, engineer] of engineers.entries()) {
      for (let k = 0; k < 3; k += 1) {
        const incident = await createIncident(replica(i));
        const res = await call(replica(i).baseUrl, 'POST', '/api/v1/reviews', admin, { incidentId: incident.id, engineerId: engineer.id });
        expect(res.status).toBe(201);
        reviewIds.push(res.body.id as string);
      }
    }
    await sql.query("UPDATE reviews SET expected_completion_at = now() - interval '1 minute' WHERE id = ANY($1::uuid[])", [reviewIds]);
    const passes = await Promise.all([0, 1, 0, 1].map((i) => call(replica(i).baseUrl, 'POST', '/api/v1/sla/escalations/run', admin)));
    expect(passes.map((pass) => pass.status)).toEqual([200, 200, 200, 200]);
    expect(passes.reduce((sum, pass) => sum + (pass.body.escalated as number), 0)).toBe(reviewIds.length);
    const { rows } = await sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_entries WHERE action = 'review.escalated' AND entity_id = ANY($1::uuid[])",
      [reviewIds],
    );
    expect(rows[0]!.n).toBe(reviewIds.length);
    expect(await invariantViolations(sql)).toEqual([]);
  });

  it('bounds lock waits in each transaction (the pooler carries no startup options): 503 with Retry-After', async () => {
    const engineer = await createEngineer(replica(0));
    const holder = await sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM engineers WHERE id = $1 FOR UPDATE', [engineer.id]);
      const started = Date.now();
      const res = await call(impatient!.baseUrl, 'PATCH', `/api/v1/engineers/${engineer.id}`, admin, { maxConcurrentReviews: 7 });
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  it('streams events live across replicas (the stream wakes through LISTEN on the direct connection)', async () => {
    const engineer = await createEngineer(replica(0));
    const incident = await createIncident(replica(0));
    const aborter = new AbortController();
    const stream = await fetch(`${replica(0).baseUrl}/api/v1/events`, {
      headers: { Authorization: `Bearer ${admin}`, Accept: 'text/event-stream' },
      signal: aborter.signal,
    });
    expect(stream.status).toBe(200);
    const assigned = await call(replica(1).baseUrl, 'POST', '/api/v1/reviews', admin, { incidentId: incident.id, engineerId: engineer.id });
    expect(assigned.status).toBe(201);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    const deadline = Date.now() + 10_000;
    try {
      while (!received.includes(assigned.body.id as string) && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500))]);
        if (chunk?.value) received += decoder.decode(chunk.value, { stream: true });
      }
    } finally {
      aborter.abort();
    }
    expect(received).toContain('event: review.assigned');
    expect(received).toContain(assigned.body.id as string);
  });

  it('delivers every webhook event of the run (the worker listens on the direct connection)', async () => {
    const { rows } = await sql.query<{ event: string }>("SELECT type || ':' || review_id AS event FROM webhook_events");
    expect(rows.length).toBeGreaterThan(0);
    const pending = async (): Promise<number> =>
      (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events WHERE delivered_at IS NULL')).rows[0]!.n;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await pending()).toBe(0);
    const seen = new Set(delivered.map((event) => `${event.type}:${event.reviewId}`));
    expect([...seen].sort()).toEqual([...new Set(rows.map((row) => row.event))].sort());
  });
});
