import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, startTestApp, type TestApp, token } from '../support/test-app.js';

async function assign(t: TestApp, engineerId: string): Promise<{ reviewId: string; incidentId: string }> {
  const incident = await createIncident(t);
  const res = await t.http.post('/api/v1/reviews').set(bearer(adminToken())).send({ incidentId: incident.id, engineerId });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { reviewId: res.body.id, incidentId: incident.id };
}

async function auditCount(t: TestApp): Promise<number> {
  const { rows } = await t.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
  return rows[0]!.n;
}

describe('separation of duties: nobody decides on a review they submitted', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('refuses the submitter, whatever roles its token carries, with 403 SELF_DECISION_FORBIDDEN and no effect; another admin decides', async () => {
    const engineer = await createEngineer(t);
    const { reviewId, incidentId } = await assign(t, engineer.id);
    const adminAndEngineer = token({ sub: engineer.id, roles: ['admin', 'engineer'] });
    const submitted = await t.http
      .post(`/api/v1/reviews/${reviewId}/submit`)
      .set(bearer(adminAndEngineer))
      .send({ approach: 'Fail over to the replica' });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);

    const before = await auditCount(t);
    for (const sub of [engineer.id, engineer.id.toUpperCase()]) {
      const selfDecision = await t.http
        .post(`/api/v1/incidents/${incidentId}/decision`)
        .set(bearer(token({ sub, roles: ['admin', 'engineer'] })))
        .send({ decision: 'engineer_approach', rationale: 'I trust myself' });
      expect(selfDecision.status, JSON.stringify(selfDecision.body)).toBe(403);
      expect(selfDecision.headers['content-type']).toContain('application/problem+json');
      expect(selfDecision.body).toMatchObject({ code: 'SELF_DECISION_FORBIDDEN', status: 403 });
    }
    const adminOnlyWithEngineersId = await t.http
      .post(`/api/v1/incidents/${incidentId}/decision`)
      .set(bearer(token({ sub: engineer.id, roles: ['admin'] })))
      .send({ decision: 'ai_approach', rationale: 'same person, other token' });
    expect(adminOnlyWithEngineersId.body.code).toBe('SELF_DECISION_FORBIDDEN');

    expect(await auditCount(t)).toBe(before);
    const review = await t.http.get(`/api/v1/reviews/${reviewId}`).set(bearer(adminToken()));
    expect(review.body).toMatchObject({ status: 'submitted', decision: 'pending', decidedBy: null });

    const decided = await t.http
      .post(`/api/v1/incidents/${incidentId}/decision`)
      .set(bearer(adminToken('lead-2')))
      .send({ decision: 'engineer_approach', rationale: 'Looks right' });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    expect(decided.body).toMatchObject({ status: 'accepted', decidedBy: 'lead-2' });
  });

  it('checks DECISION_ALREADY_MADE and NO_SUBMITTED_REVIEW before separation of duties', async () => {
    const engineer = await createEngineer(t);
    const { reviewId, incidentId } = await assign(t, engineer.id);
    const self = token({ sub: engineer.id, roles: ['admin', 'engineer'] });
    const decide = () =>
      t.http.post(`/api/v1/incidents/${incidentId}/decision`).set(bearer(self)).send({ decision: 'ai_approach', rationale: 'r' });
    expect((await decide()).body.code).toBe('NO_SUBMITTED_REVIEW');
    await t.http.post(`/api/v1/reviews/${reviewId}/submit`).set(bearer(self)).send({ approach: 'a' }).expect(200);
    expect((await decide()).body.code).toBe('SELF_DECISION_FORBIDDEN');
    await t.http
      .post(`/api/v1/incidents/${incidentId}/decision`)
      .set(bearer(adminToken()))
      .send({ decision: 'ai_approach', rationale: 'r' })
      .expect(200);
    expect((await decide()).body.code).toBe('DECISION_ALREADY_MADE');
  });
});

describe('unknown engineers: deleted, never existed, or a sub that is not a UUID', () => {
  let t: TestApp;
  let deletedId: string;
  let heldReviewId: string;
  let heldIncidentId: string;
  beforeAll(async () => {
    t = await startTestApp();
    const engineer = await createEngineer(t);
    ({ reviewId: heldReviewId, incidentId: heldIncidentId } = await assign(t, engineer.id));
    await t.http.post(`/api/v1/reviews/${heldReviewId}/cancel`).set(bearer(adminToken())).send({ reason: 'moving on' }).expect(200);
    await t.http.delete(`/api/v1/engineers/${engineer.id}`).set(bearer(adminToken())).expect(204);
    deletedId = engineer.id;
  });
  afterAll(async () => t.close());

  const identities = (): [string, string][] => [
    ['a deleted engineer', deletedId],
    ['an unknown engineer id', randomUUID()],
    ['a sub that is not a UUID', 'not-a-uuid'],
    ['a sub with SQL in it', "x' OR '1'='1"],
  ];

  it('gets 404 on /me, its own id, reviews, incidents, start and submit, and an empty page of reviews; never a 5xx', async () => {
    for (const [label, sub] of identities()) {
      const auth = bearer(engineerToken(sub));
      const answers = {
        me: await t.http.get('/api/v1/engineers/me').set(auth),
        ownRecord: await t.http.get(`/api/v1/engineers/${deletedId}`).set(auth),
        review: await t.http.get(`/api/v1/reviews/${heldReviewId}`).set(auth),
        incident: await t.http.get(`/api/v1/incidents/${heldIncidentId}`).set(auth),
        start: await t.http.post(`/api/v1/reviews/${heldReviewId}/start`).set(auth),
        submit: await t.http.post(`/api/v1/reviews/${heldReviewId}/submit`).set(auth).send({ approach: 'late' }),
      };
      for (const [call, res] of Object.entries(answers)) {
        expect(res.status, `${label}, ${call}: ${JSON.stringify(res.body)}`).toBe(404);
        expect(res.body.code).toBe('NOT_FOUND');
      }
      const page = await t.http.get('/api/v1/reviews').set(auth);
      expect(page.status, label).toBe(200);
      expect(page.body).toEqual({ items: [], total: 0, page: 1, pageSize: 20, totalPages: 1 });
      const filtered = await t.http.get(`/api/v1/reviews?incidentId=${heldIncidentId}&status=cancelled`).set(auth);
      expect(filtered.body.total, label).toBe(0);
    }
  });

  it('an engineer still on the roster reads the same review and incident (the 404s above are about identity, not the data)', async () => {
    const engineer = await createEngineer(t);
    const { reviewId, incidentId } = await assign(t, engineer.id);
    const auth = bearer(engineerToken(engineer.id));
    await t.http.get(`/api/v1/reviews/${reviewId}`).set(auth).expect(200);
    const incident = await t.http.get(`/api/v1/incidents/${incidentId}`).set(auth).expect(200);
    expect(incident.body.reviews.map((review: { id: string }) => review.id)).toEqual([reviewId]);
    expect((await t.http.get('/api/v1/reviews').set(auth)).body.total).toBe(1);
    await t.http.post(`/api/v1/reviews/${reviewId}/start`).set(auth).expect(200);
  });
});

describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('sends nosniff and no-referrer on every response, errors and public routes included', async () => {
    const answers = {
      live: await t.http.get('/health/live'),
      api: await t.http.get('/api/v1/engineers').set(bearer(adminToken())),
      unauthenticated: await t.http.get('/api/v1/engineers'),
      unknownRoute: await t.http.get('/nowhere'),
      openApi: await t.http.get('/docs-json'),
    };
    for (const [call, res] of Object.entries(answers)) {
      expect(res.headers['x-content-type-options'], call).toBe('nosniff');
      expect(res.headers['referrer-policy'], call).toBe('no-referrer');
    }
  });

  it('marks every answer under /api/v1 no-store, errors and unknown routes included', async () => {
    const answers = {
      api: await t.http.get('/api/v1/engineers').set(bearer(adminToken())),
      unauthenticated: await t.http.get('/api/v1/engineers'),
      unknownRoute: await t.http.get('/api/v1/nowhere'),
    };
    for (const [call, res] of Object.entries(answers)) expect(res.headers['cache-control'], call).toBe('no-store');
  });

  it('serves /docs with a Content-Security-Policy that allows only its own scripts and forbids framing', async () => {
    const docs = await t.http.get('/docs/');
    expect(docs.status).toBe(200);
    const csp = docs.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    const scripts = [...docs.text.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, inline] of scripts) expect(inline.trim(), 'an inline script would be blocked by the CSP').toBe('');
  });
});
