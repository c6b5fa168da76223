import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, serviceToken, startTestApp, type TestApp, token } from '../support/test-app.js';

const LIMIT = '3';
const WINDOW_SECONDS = 60;

/** One call of each route of the rate-limited family, with ids that do not exist (404 when allowed through). */
const family = {
  assign: (t: TestApp, auth: Record<string, string>) =>
    t.http.post('/api/v1/reviews').set(auth).send({ incidentId: randomUUID(), engineerId: randomUUID() }),
  autoAssign: (t: TestApp, auth: Record<string, string>) =>
    t.http.post('/api/v1/reviews/auto-assign').set(auth).send({ incidentId: randomUUID() }),
  reassign: (t: TestApp, auth: Record<string, string>) =>
    t.http.post(`/api/v1/reviews/${randomUUID()}/reassign`).set(auth).send({ engineerId: randomUUID(), reason: 'rebalancing' }),
};

function expectRateLimited(res: Response): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
}

describe('assignment rate limit, in-process', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ASSIGN_RATE_LIMIT: LIMIT, ASSIGN_RATE_WINDOW_SECONDS: String(WINDOW_SECONDS) });
  });
  afterAll(async () => t.close());

  it('answers 429 with Retry-After from the 4th call of a subject on, and does not limit other subjects', async () => {
    const auth = bearer(adminToken('rl-admin-1'));
    const statuses = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await family.assign(t, auth);
      statuses.push(res.status);
      if (i >= 3) expectRateLimited(res);
    }
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect((await family.assign(t, bearer(adminToken('rl-admin-2')))).status).toBe(404);
  });

  it('counts POST /reviews, /reviews/auto-assign and /reviews/{id}/reassign in one bucket, and nothing else', async () => {
    const auth = bearer(adminToken('rl-admin-3'));
    expect((await family.assign(t, auth)).status).toBe(404);
    expect((await family.autoAssign(t, auth)).status).toBe(404);
    expect((await family.reassign(t, auth)).status).toBe(404);
    expectRateLimited(await family.autoAssign(t, auth));
    expectRateLimited(await family.reassign(t, auth));
    expectRateLimited(await family.assign(t, auth));
    expect((await t.http.get('/api/v1/reviews').set(auth)).status).toBe(200);
    expect((await t.http.post(`/api/v1/reviews/${randomUUID()}/cancel`).set(auth).send({ reason: 'x' })).status).toBe(404);
    expect((await t.http.post('/api/v1/incidents').set(auth).send({ title: 'x', severity: 'low', aiProposal: 'y' })).status).toBe(201);
  });

  it('decides 401 and 403 first without counting them, and 429 before validation, doing nothing', async () => {
    const sub = 'rl-admin-4';
    const forged = bearer(jwt.sign({ sub, roles: ['admin'] }, 'not-the-secret-but-long-enough-0123456789', { expiresIn: '1h' }));
    for (let i = 0; i < 4; i += 1) expect((await family.assign(t, forged)).status).toBe(401);
    for (let i = 0; i < 4; i += 1) expect((await family.assign(t, bearer(token({ sub, roles: [] })))).status).toBe(403);
    for (let i = 0; i < 4; i += 1) expect((await family.assign(t, bearer(serviceToken(sub)))).status).toBe(403);

    const auth = bearer(adminToken(sub));
    const engineer = await createEngineer(t, { maxConcurrentReviews: 5 });
    const [first, second] = [await createIncident(t), await createIncident(t)];
    expect((await t.http.post('/api/v1/reviews').set(auth).send({ incidentId: first.id, engineerId: engineer.id })).status).toBe(201);
    expect((await t.http.post('/api/v1/reviews').set(auth).send({ incidentId: 'nope' })).status).toBe(400);
    expect((await family.assign(t, auth)).status).toBe(404);

    expectRateLimited(await t.http.post('/api/v1/reviews').set(auth).send({ incidentId: second.id, engineerId: engineer.id }));
    expectRateLimited(await t.http.post('/api/v1/reviews').set(auth).send({ incidentId: 'nope' }));
    expect((await family.assign(t, forged)).status).toBe(401);
    expect((await family.assign(t, bearer(serviceToken(sub)))).status).toBe(403);
    const { rows } = await t.sql.query<{ count: string }>('SELECT count(*) FROM reviews WHERE incident_id = $1', [second.id]);
    expect(rows[0]?.count).toBe('0');
  });
});

describe('assignment rate limit shared through Redis', () => {
  const runId = randomUUID();
  const prefix = `ers-test-${runId}:`;
  const connectionName = `ers-test-${runId}`;
  const env = {
    ASSIGN_RATE_LIMIT: LIMIT,
    ASSIGN_RATE_WINDOW_SECONDS: String(WINDOW_SECONDS),
    REDIS_URL: `redis://127.0.0.1:6379/0?keyPrefix=${prefix}&connectionName=${connectionName}`,
  };
  const redis = new Redis('redis://127.0.0.1:6379/0');
  let replicaA: TestApp;
  let replicaB: TestApp;
  let closed = false;

  async function ourConnections(): Promise<number> {
    const list = (await redis.call('CLIENT', 'LIST')) as string;
    return list.split('\n').filter((line) => line.includes(` name=${connectionName} `)).length;
  }

  beforeAll(async () => {
    [replicaA, replicaB] = await Promise.all([startTestApp(env), startTestApp(env)]);
  });
  afterAll(async () => {
    if (!closed) await Promise.all([replicaA.close(), replicaB.close()]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('counts the calls of one subject on every replica together: 2 + 2 with limit 3 is exactly one 429', async () => {
    const auth = bearer(adminToken('rl-shared-1'));
    const responses = [];
    for (const replica of [replicaA, replicaA, replicaB, replicaB]) responses.push(await family.assign(replica, auth));
    expect(responses.map((res) => res.status)).toEqual([404, 404, 404, 429]);
    expectRateLimited(responses[3]!);
    expect((await family.autoAssign(replicaA, auth)).status).toBe(429);
    expect((await family.assign(replicaB, bearer(adminToken('rl-shared-2')))).status).toBe(404);
    expect(await redis.keys(`${prefix}rate-limit:*`)).toHaveLength(2);
  });

  it('closes its Redis connection when the application shuts down', async () => {
    expect(await ourConnections()).toBe(2);
    closed = true;
    await Promise.all([replicaA.close(), replicaB.close()]);
    expect(await ourConnections()).toBe(0);
  });
});
