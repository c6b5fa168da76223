import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, serviceToken, startTestApp, type TestApp } from '../support/test-app.js';

describe('HTTP foundation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('answers liveness and readiness', async () => {
    await t.http.get('/health/live').expect(200);
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.info.migrations.status).toBe('up');
  });

  it('is not ready while a migration is pending: 503 problem+json carrying the terminus result', async () => {
    const { rows } = await t.sql.query<{ name: string }>(
      'SELECT migration_name AS name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1',
    );
    const latest = rows[0]!.name;
    await t.sql.query(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1`, [latest]);
    try {
      const ready = await t.http.get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(ready.body).toMatchObject({
        status: 503,
        code: 'SERVICE_UNAVAILABLE',
        info: { database: { status: 'up' } },
        error: { migrations: { status: 'down', pending: [latest] } },
        details: { database: { status: 'up' }, migrations: { status: 'down', pending: [latest] } },
      });
    } finally {
      await t.sql.query(`UPDATE _prisma_migrations SET rolled_back_at = NULL WHERE migration_name = $1`, [latest]);
    }
    expect((await t.http.get('/health/ready')).status).toBe(200);
  });

  it('echoes X-Request-Id and generates one when absent', async () => {
    const echoed = await t.http.get('/health/live').set('X-Request-Id', 'abc-123');
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const generated = await t.http.get('/health/live');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with 404 and wrong methods with 405, token or not', async () => {
    const missing = await t.http.get('/api/v1/nope').set('X-Request-Id', 'r-404');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect(missing.body).toMatchObject({ status: 404, code: 'NOT_FOUND', instance: '/api/v1/nope', requestId: 'r-404' });
    const wrongMethod = await t.http.put('/api/v1/engineers').set(bearer(adminToken()));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.code).toBe('METHOD_NOT_ALLOWED');
    expect((await t.http.delete('/health/live')).status).toBe(405);
  });

  it('rejects malformed JSON, non-JSON bodies and oversized bodies as problem+json', async () => {
    const malformed = await t.http
      .post('/api/v1/engineers')
      .set(bearer(adminToken()))
      .set('Content-Type', 'application/json')
      .send('{"name":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('VALIDATION_FAILED');
    expect(malformed.body.errors).toBeUndefined();
    const text = await t.http.post('/api/v1/engineers').set(bearer(adminToken())).set('Content-Type', 'text/plain').send('hello');
    expect(text.status).toBe(415);
    expect(text.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await t.http
      .post('/api/v1/engineers')
      .set(bearer(adminToken()))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) }));
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('PAYLOAD_TOO_LARGE');
    const proto = await t.http
      .post('/api/v1/engineers')
      .set(bearer(adminToken()))
      .set('Content-Type', 'application/json')
      .send('{"__proto__":{"x":1}}');
    expect(proto.status).toBe(400);
    expect(proto.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: '__proto__', message: 'is not allowed' }] });
  });

  it('decides an unreadable body after authentication, authorization and routing (401, 403, 404 first)', async () => {
    const malformed = (req: ReturnType<typeof t.http.post>) => req.set('Content-Type', 'application/json').send('{"name":');
    expect((await malformed(t.http.post('/api/v1/engineers'))).status).toBe(401);
    expect((await t.http.post('/api/v1/engineers').set('Content-Type', 'text/plain').send('hello')).status).toBe(401);
    expect((await malformed(t.http.post('/api/v1/engineers').set(bearer(serviceToken())))).status).toBe(403);
    const unknown = await malformed(t.http.post('/api/v1/no-such-thing').set(bearer(adminToken())));
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('NOT_FOUND');
    // The refused request claims no idempotency key: the same key then works with a readable body.
    const key = `unreadable-${Date.now()}`;
    expect((await malformed(t.http.post('/api/v1/engineers').set(bearer(adminToken())).set('Idempotency-Key', key))).status).toBe(400);
    const created = await t.http
      .post('/api/v1/engineers')
      .set(bearer(adminToken()))
      .set('Idempotency-Key', key)
      .send({ name: 'After a bad body', email: `after-bad-body-${Date.now()}@example.com` });
    expect(created.status).toBe(201);
  });

  it('refuses any field in the body of a POST that takes none, and accepts none or {}', async () => {
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const review = (
      await t.http.post('/api/v1/reviews').set(bearer(adminToken())).send({ incidentId: incident.id, engineerId: engineer.id })
    ).body;
    const calls = [
      { path: `/api/v1/reviews/${review.id}/start`, auth: bearer(engineerToken(engineer.id)) },
      { path: '/api/v1/sla/escalations/run', auth: bearer(adminToken()) },
      { path: '/api/v1/admin/workload/reconcile', auth: bearer(adminToken()) },
    ];
    for (const { path, auth } of calls) {
      const refused = await t.http.post(path).set(auth).send({ force: true });
      expect(refused.status, path).toBe(400);
      expect(refused.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'force' }] });
      expect((await t.http.post(path).set(auth).send([1])).status, path).toBe(400);
    }
    for (const { path, auth } of calls) expect((await t.http.post(path).set(auth).send({})).status, path).toBe(200);
    expect((await t.http.post('/api/v1/sla/escalations/run').set(bearer(adminToken()))).status).toBe(200);
  });

  it('serves the OpenAPI document', async () => {
    const doc = await t.http.get('/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.paths['/api/v1/engineers']).toBeDefined();
    await t.http.get('/docs').expect(200);
  });
});
