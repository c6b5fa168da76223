import { randomUUID } from 'node:crypto';

import jwt from 'jsonwebtoken';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { BUILT_MAIN, exitOf, spawnBuilt } from '../support/built-service.js';
import { cloneTemplate, databaseUrl, dropDatabase } from '../support/database.js';

const SECRET = 'graceful-shutdown-test-secret-0123456789';
const DELAY_SECONDS = 2;
const admin = `Bearer ${jwt.sign({ sub: 'admin-1', roles: ['admin'] }, SECRET, { expiresIn: '10m' })}`;

async function waitForListening(child: ReturnType<typeof spawnBuilt>): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const port = /listening on 127\.0\.0\.1:(\d+)/.exec(child.output())?.[1];
    if (port) return `http://127.0.0.1:${port}`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the service did not start:\n${child.output()}`);
}

describe('graceful shutdown of the built service on SIGTERM', () => {
  let databaseName: string;
  let sql: pg.Client;
  beforeAll(async () => {
    databaseName = await cloneTemplate(inject('templateDatabase'));
    sql = new pg.Client({ connectionString: databaseUrl(databaseName) });
    await sql.connect();
  });
  afterAll(async () => {
    await sql.end();
    await dropDatabase(databaseName);
  });

  it('turns readiness 503 at once, keeps serving for SHUTDOWN_DELAY_SECONDS, finishes the request in flight, then exits 0', async () => {
    const child = spawnBuilt([BUILT_MAIN], {
      DATABASE_URL: databaseUrl(databaseName),
      JWT_SECRET: SECRET,
      PORT: '0',
      HOST: '127.0.0.1',
      SCHEDULER_ENABLED: 'false',
      SHUTDOWN_DELAY_SECONDS: String(DELAY_SECONDS),
      LOG_LEVEL: 'warn',
    });
    const baseUrl = await waitForListening(child);
    const headers = { Authorization: admin, 'Content-Type': 'application/json' };
    const created = await fetch(`${baseUrl}/api/v1/engineers`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Grace', email: `grace-${randomUUID()}@example.com` }),
    });
    expect(created.status).toBe(201);
    const engineer = (await created.json()) as { id: string };
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    const incident = await fetch(`${baseUrl}/api/v1/incidents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: 'Disk full', severity: 'high', aiProposal: 'Grow the volume' }),
    });
    expect(incident.status).toBe(201);
    const { id: incidentId } = (await incident.json()) as { id: string };

    // Long-lived answers: a decision wait of a minute and an event stream. They must end when the
    // replica stops accepting, not hold the shutdown until its 30 s limit.
    const waiter = fetch(`${baseUrl}/api/v1/incidents/${incidentId}/decision?waitSeconds=60`, { headers });
    const stream = await fetch(`${baseUrl}/api/v1/events`, { headers: { ...headers, Accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const streamEnded = stream.text().then(() => Date.now());

    // A request held in flight: the engineer's row is locked here, so its update waits for us.
    await sql.query('BEGIN');
    await sql.query('SELECT 1 FROM engineers WHERE id = $1 FOR UPDATE', [engineer.id]);
    const inFlight = fetch(`${baseUrl}/api/v1/engineers/${engineer.id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ maxConcurrentReviews: 5 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalledAt = Date.now();
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toContain('application/problem+json');
    expect(((await ready.json()) as { error: Record<string, unknown> }).error).toHaveProperty('shutdown');
    const stillServing = await fetch(`${baseUrl}/api/v1/engineers/${engineer.id}`, { headers });
    expect(stillServing.status).toBe(200);
    expect(stillServing.headers.get('connection')).toBe('close');

    // Past the delay the replica stops accepting but still waits for the request in flight.
    await new Promise((resolve) => setTimeout(resolve, DELAY_SECONDS * 1000 + 500));
    expect(child.exitCode).toBeNull();
    await expect(fetch(`${baseUrl}/health/live`)).rejects.toThrow();
    await sql.query('COMMIT');
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { maxConcurrentReviews: number }).maxConcurrentReviews).toBe(5);

    const exited = await exitOf(child, 20_000);
    expect(exited.code, exited.output).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DELAY_SECONDS * 1000);
    expect(Date.now() - signalledAt, 'the long-lived answers ended when the replica stopped accepting').toBeLessThan(
      DELAY_SECONDS * 1000 + 15_000,
    );
    const waited = await waiter;
    expect(waited.status).toBe(200);
    expect(((await waited.json()) as { state: string }).state).not.toBe('decided');
    expect((await streamEnded) - signalledAt).toBeGreaterThanOrEqual(DELAY_SECONDS * 1000);
    expect(exited.output).toMatch(/Stopped gracefully/);
    expect(exited.output).not.toMatch(/Cannot use a pool after calling end/);
  });
});
