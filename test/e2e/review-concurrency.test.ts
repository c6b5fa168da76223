import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngineer, createIncident } from '../support/factories.js';
import { call, countBy } from '../support/http-client.js';
import { invariantViolations } from '../support/invariants.js';
import { adminToken, engineerToken, startTestApp, type TestApp } from '../support/test-app.js';

const N = 50;
const admin = adminToken();

describe('review assignment under real concurrency', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DATABASE_POOL_MAX: '20' });
  });
  afterAll(async () => t.close());

  const post = (path: string, body?: unknown, headers?: Record<string, string>, token = admin) =>
    call(t.baseUrl, 'POST', path, token, body, headers);

  it(`${N} assignments to one engineer of capacity 5: exactly 5 succeed`, async () => {
    const engineer = await createEngineer(t, { maxConcurrentReviews: 5 });
    const incidents = await Promise.all(Array.from({ length: N }, () => createIncident(t)));
    const results = await Promise.all(
      incidents.map((incident) => post('/api/v1/reviews', { incidentId: incident.id, engineerId: engineer.id })),
    );
    expect(countBy(results, (r) => `${r.status}:${r.body.code ?? ''}`)).toEqual({ '201:': 5, [`409:ENGINEER_AT_CAPACITY`]: N - 5 });
    const after = await call(t.baseUrl, 'GET', `/api/v1/engineers/${engineer.id}`, admin);
    expect(after.body).toMatchObject({ currentReviewCount: 5, isAvailable: false });
    expect(await invariantViolations(t.sql)).toEqual([]);
  });

  it(`${N} assignments of one incident to different engineers: exactly one succeeds`, async () => {
    const engineers = await Promise.all(Array.from({ length: N }, () => createEngineer(t)));
    const incident = await createIncident(t);
    const results = await Promise.all(
      engineers.map((engineer) => post('/api/v1/reviews', { incidentId: incident.id, engineerId: engineer.id })),
    );
    expect(countBy(results, (r) => `${r.status}:${r.body.code ?? ''}`)).toEqual({ '201:': 1, '409:INCIDENT_HAS_OPEN_REVIEW': N - 1 });
    expect(await invariantViolations(t.sql)).toEqual([]);
  });

  it(`${N} auto-assigns over a pool of 10 × capacity 3: 30 succeed, nobody over capacity`, async () => {
    const tag = `pool-${Date.now()}`;
    const engineers = await Promise.all(Array.from({ length: 10 }, () => createEngineer(t, { expertise: [tag], maxConcurrentReviews: 3 })));
    const incidents = await Promise.all(Array.from({ length: N }, () => createIncident(t, { requiredExpertise: [tag] })));
    const results = await Promise.all(incidents.map((incident) => post('/api/v1/reviews/auto-assign', { incidentId: incident.id })));
    expect(countBy(results, (r) => `${r.status}:${r.body.code ?? ''}`)).toEqual({ '201:': 30, '409:NO_ENGINEER_AVAILABLE': N - 30 });
    const { rows } = await t.sql.query('SELECT current_review_count FROM engineers WHERE id = ANY($1::uuid[])', [
      engineers.map((e) => e.id),
    ]);
    expect(rows.every((row) => row.current_review_count === 3)).toBe(true);
    expect(await invariantViolations(t.sql)).toEqual([]);
  });

  it('two identical idempotent requests at once: one acts, the other replays its answer', async () => {
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const body = { incidentId: incident.id, engineerId: engineer.id, priority: 'low' };
    const headers = { 'Idempotency-Key': `assign-${incident.id}` };
    const results = await Promise.all(Array.from({ length: 10 }, () => post('/api/v1/reviews', body, headers)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    const { rows } = await t.sql.query('SELECT count(*)::int AS n FROM reviews WHERE incident_id = $1', [incident.id]);
    expect(rows[0].n).toBe(1);
    const reused = await post('/api/v1/reviews', { ...body, priority: 'high' }, headers);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const reordered = await post('/api/v1/reviews', { priority: 'low', engineerId: engineer.id, incidentId: incident.id }, headers);
    expect(reordered.status).toBe(201);
    expect(reordered.body.id).toBe(results[0]!.body.id);
  });

  it('stores and replays a 409 with the replaying request id; an invalid key is 400', async () => {
    const engineer = await createEngineer(t, { maxConcurrentReviews: 1 });
    const [first, second] = [await createIncident(t), await createIncident(t)];
    await post('/api/v1/reviews', { incidentId: first.id, engineerId: engineer.id });
    const headers = { 'Idempotency-Key': `full-${second.id}` };
    const conflict = await post(
      '/api/v1/reviews',
      { incidentId: second.id, engineerId: engineer.id },
      { ...headers, 'X-Request-Id': 'first' },
    );
    expect(conflict.body.code).toBe('ENGINEER_AT_CAPACITY');
    const replay = await post(
      '/api/v1/reviews',
      { incidentId: second.id, engineerId: engineer.id },
      { ...headers, 'X-Request-Id': 'second' },
    );
    expect(replay.status).toBe(409);
    expect(replay.headers.get('content-type')).toContain('application/problem+json');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual({ ...conflict.body, requestId: 'second' });
    expect((await post('/api/v1/reviews', {}, { 'Idempotency-Key': '' })).status).toBe(400);
    expect((await post('/api/v1/reviews', {}, { 'Idempotency-Key': 'x'.repeat(201) })).status).toBe(400);
  });

  it('a random mix of every operation for several seconds leaves zero drift and intact invariants', async () => {
    const tag = `mix-${Date.now()}`;
    const engineers = await Promise.all(Array.from({ length: 8 }, () => createEngineer(t, { expertise: [tag], maxConcurrentReviews: 3 })));
    const incidents = await Promise.all(Array.from({ length: 40 }, () => createIncident(t, { requiredExpertise: [tag] })));
    const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;
    const statuses = new Map<number, number>();
    const deadline = Date.now() + 4000;
    const worker = async () => {
      while (Date.now() < deadline) {
        const incident = pick(incidents);
        const open = await t.sql.query<{ id: string; engineer_id: string }>(
          `SELECT id, engineer_id FROM reviews WHERE incident_id = $1 AND status IN ('assigned','in_progress','submitted')`,
          [incident.id],
        );
        const review = open.rows[0];
        const choice = Math.floor(Math.random() * 7);
        let result;
        if (!review || choice === 0) result = await post('/api/v1/reviews/auto-assign', { incidentId: incident.id });
        else if (choice === 1) result = await post('/api/v1/reviews', { incidentId: incident.id, engineerId: pick(engineers).id });
        else if (choice === 2) result = await post(`/api/v1/reviews/${review.id}/start`, undefined, {}, engineerToken(review.engineer_id));
        else if (choice === 3)
          result = await post(`/api/v1/reviews/${review.id}/submit`, { approach: 'x' }, {}, engineerToken(review.engineer_id));
        else if (choice === 4)
          result = await post(`/api/v1/incidents/${incident.id}/decision`, {
            decision: pick(['ai_approach', 'engineer_approach']),
            rationale: 'r',
          });
        else if (choice === 5) result = await post(`/api/v1/reviews/${review.id}/cancel`, { reason: 'mix' });
        else result = await post(`/api/v1/reviews/${review.id}/reassign`, { engineerId: pick(engineers).id, reason: 'mix' });
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      }
    };
    const drainer = async () => {
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        const result = await post(`/api/v1/engineers/${pick(engineers).id}/drain`, { status: 'on_leave', reason: 'mix' });
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
        await call(t.baseUrl, 'PATCH', `/api/v1/engineers/${pick(engineers).id}`, admin, { status: 'active' });
      }
    };
    await Promise.all([...Array.from({ length: 12 }, worker), drainer()]);
    const seen = [...statuses.keys()];
    expect(seen.every((status) => [200, 201, 404, 409].includes(status))).toBe(true);
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
    const drift = await call(t.baseUrl, 'GET', '/api/v1/admin/workload/drift', admin);
    expect(drift.body.drifted).toEqual([]);
    expect(await invariantViolations(t.sql)).toEqual([]);
  });
});
