import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, startTestApp, type TestApp } from '../support/test-app.js';

/** The contract's bad-input rules (Conventions), one rule at a time, each at its boundary. */
describe('bad input: refused as 400 problem+json, changing nothing', () => {
  let t: TestApp;
  let engineer: Record<string, any>;
  let incident: Record<string, any>;
  let review: Record<string, any>;

  beforeAll(async () => {
    t = await startTestApp();
    engineer = await createEngineer(t, { maxConcurrentReviews: 10 });
    incident = await createIncident(t);
    review = (await t.http.post('/api/v1/reviews').set(bearer(adminToken())).send({ incidentId: incident.id, engineerId: engineer.id }))
      .body;
  });
  afterAll(async () => {
    await t?.close();
  });

  async function state(): Promise<string> {
    const { rows } = await t.sql.query<{ sum: string }>(
      `SELECT concat_ws('|', (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM engineers t), (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM incidents t),
         (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM reviews t), (SELECT count(*) FROM audit_entries)) AS sum`,
    );
    return rows[0]!.sum;
  }

  function send(method: 'post' | 'patch', path: string, text: string, token = adminToken()) {
    return t.http[method](path).set(bearer(token)).set('Content-Type', 'application/json').send(text);
  }

  it('refuses U+0000 in every text field of every endpoint that stores text, naming the field', async () => {
    const engineerId = engineer.id as string;
    const cases: { method: 'post' | 'patch'; path: string; body: Record<string, unknown>; field: string; token?: string }[] = [
      { method: 'post', path: '/api/v1/engineers', body: { name: 'Ada\u0000', email: 'nul@example.com' }, field: 'name' },
      {
        method: 'post',
        path: '/api/v1/engineers',
        body: { name: 'Ada', email: 'nul@example.com', expertise: ['go', 'r\u0000ust'] },
        field: 'expertise.1',
      },
      { method: 'patch', path: `/api/v1/engineers/${engineerId}`, body: { name: '\u0000' }, field: 'name' },
      {
        method: 'post',
        path: `/api/v1/engineers/${engineerId}/drain`,
        body: { status: 'on_leave', reason: 'away\u0000' },
        field: 'reason',
      },
      { method: 'post', path: '/api/v1/incidents', body: { title: 'a\u0000b', severity: 'low', aiProposal: 'x' }, field: 'title' },
      {
        method: 'post',
        path: '/api/v1/incidents',
        body: { title: 'a', description: '\u0000', severity: 'low', aiProposal: 'x' },
        field: 'description',
      },
      { method: 'post', path: '/api/v1/incidents', body: { title: 'a', severity: 'low', aiProposal: 'x\u0000' }, field: 'aiProposal' },
      {
        method: 'post',
        path: '/api/v1/incidents',
        body: { title: 'a', severity: 'low', aiProposal: 'x', externalRef: 'r\u0000' },
        field: 'externalRef',
      },
      {
        method: 'post',
        path: `/api/v1/incidents/${incident.id}/decision`,
        body: { decision: 'ai_approach', rationale: 'because\u0000' },
        field: 'rationale',
      },
      {
        method: 'post',
        path: `/api/v1/reviews/${review.id}/submit`,
        body: { approach: 'fix\u0000' },
        field: 'approach',
        token: engineerToken(engineerId),
      },
      {
        method: 'post',
        path: `/api/v1/reviews/${review.id}/submit`,
        body: { approach: 'fix', analysis: '\u0000' },
        field: 'analysis',
        token: engineerToken(engineerId),
      },
      { method: 'post', path: `/api/v1/reviews/${review.id}/cancel`, body: { reason: 'no\u0000' }, field: 'reason' },
      { method: 'post', path: `/api/v1/reviews/${review.id}/reassign`, body: { engineerId, reason: '\u0000x' }, field: 'reason' },
    ];
    const before = await state();
    for (const { method, path, body, field, token } of cases) {
      const res = await send(method, path, JSON.stringify(body), token);
      expect(res.status, `${path} ${field}`).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors, `${path} ${field}`).toContainEqual({ field, message: 'must not contain U+0000' });
    }
    expect(await state()).toBe(before);
  });

  it('keeps other control characters, newlines and tabs included, as sent', async () => {
    const res = await send(
      'post',
      '/api/v1/incidents',
      JSON.stringify({ title: 'line 1\nline\t2\u0001', severity: 'low', aiProposal: 'x\u001f' }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ title: 'line 1\nline\t2\u0001', aiProposal: 'x\u001f' });
  });

  it('refuses U+0000 in a key, stored under an idempotency key or not', async () => {
    for (const headers of [{}, { 'Idempotency-Key': `nul-key-${Date.now()}` }]) {
      const res = await send('post', '/api/v1/sla/escalations/run', '{"a\\u0000b":1}').set(headers);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'a\\u0000b', message: 'must not contain U+0000' }]);
    }
  });

  it('refuses keys named like what every object inherits, as unknown fields', async () => {
    const before = await state();
    for (const key of [
      'toString',
      'hasOwnProperty',
      'valueOf',
      'isPrototypeOf',
      'toLocaleString',
      '__defineGetter__',
      'constructor',
      'prototype',
      '__proto__',
    ]) {
      const create = await send('post', '/api/v1/engineers', `{"name":"Ada","email":"inherited@example.com",${JSON.stringify(key)}:"x"}`);
      expect(create.status, key).toBe(400);
      expect(create.body.errors, key).toEqual([expect.objectContaining({ field: key })]);
      const update = await send('patch', `/api/v1/engineers/${engineer.id}`, `{${JSON.stringify(key)}:1}`);
      expect(update.status, key).toBe(400);
      const nested = await send(
        'post',
        '/api/v1/incidents',
        `{"title":"a","severity":"low","aiProposal":"x","requiredExpertise":[{${JSON.stringify(key)}:1}]}`,
      );
      expect(nested.status, key).toBe(400);
    }
    expect(await state()).toBe(before);
  });

  it('refuses a whole body that is not an object (PATCH null included) and accepts {} where every field is optional', async () => {
    const before = await state();
    for (const text of ['null', '[]', '[{"name":"x"}]', '"name"', '42', 'true']) {
      for (const [method, path] of [
        ['post', '/api/v1/engineers'],
        ['patch', `/api/v1/engineers/${engineer.id}`],
        ['patch', `/api/v1/incidents/${incident.id}/status`],
        ['post', `/api/v1/reviews/${review.id}/cancel`],
      ] as const) {
        const res = await send(method, path, text);
        expect(res.status, `${method} ${path} ${text}`).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
      }
    }
    expect(await state()).toBe(before);
    expect((await send('patch', `/api/v1/engineers/${engineer.id}`, '{}')).status).toBe(200);
  });

  it('allows 1 000 keys in all and refuses 1 001 without an errors list', async () => {
    const withKeys = (total: number) => {
      // name, email and extra are three keys; extra holds the rest.
      const extra = Object.fromEntries(Array.from({ length: total - 3 }, (_, index) => [`k${index}`, index]));
      return JSON.stringify({ name: 'Ada', email: 'keys@example.com', extra });
    };
    const atLimit = await send('post', '/api/v1/engineers', withKeys(1000));
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.errors).toEqual([{ field: 'extra', message: 'property extra should not exist' }]);
    const over = await send('post', '/api/v1/engineers', withKeys(1001));
    expect(over.status).toBe(400);
    expect(over.body.code).toBe('VALIDATION_FAILED');
    expect(over.body.errors).toBeUndefined();
    expect(over.body.detail).toMatch(/1000 keys/);
    // An array's elements count as its keys.
    const tags = (count: number) =>
      JSON.stringify({ name: 'Ada', email: 'keys@example.com', expertise: Array.from({ length: count }, (_, index) => `t${index}`) });
    const longList = await send('post', '/api/v1/engineers', tags(997));
    expect(longList.body.errors).toEqual([{ field: 'expertise', message: 'must contain at most 50 tags' }]);
    const tooLong = await send('post', '/api/v1/engineers', tags(998));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors).toBeUndefined();
  });

  it('allows nesting 16 levels deep and refuses 17 without an errors list', async () => {
    const deep = (levels: number) => {
      let value = '1';
      // The body itself is the first level.
      for (let level = 2; level <= levels; level += 1) value = level % 2 ? `{"a":${value}}` : `[${value}]`;
      return `{"name":"Ada","email":"deep@example.com","extra":${value}}`;
    };
    const atLimit = await send('post', '/api/v1/engineers', deep(16));
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.errors).toEqual([{ field: 'extra', message: 'property extra should not exist' }]);
    const over = await send('post', '/api/v1/engineers', deep(17));
    expect(over.status).toBe(400);
    expect(over.body.errors).toBeUndefined();
    expect(over.body.detail).toMatch(/16 levels/);
  });

  it('lists at most 20 field errors and says how many more failed', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`unknown${index}`, index]));
    const res = await send('post', '/api/v1/engineers', JSON.stringify({ name: 'Ada', email: 'many@example.com', ...unknown }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(20);
    expect(res.body.errors[0]).toEqual({ field: 'unknown0', message: 'property unknown0 should not exist' });
    expect(res.body.detail).toMatch(/; and 30 more$/);
  });

  it('stores a bounded answer under an idempotency key, however many and however long the bad keys', async () => {
    const key = `big-400-${Date.now()}`;
    const body = Object.fromEntries(Array.from({ length: 900 }, (_, index) => [`${index}-${'k'.repeat(1000)}`, 1]));
    const first = await send('post', '/api/v1/engineers', JSON.stringify(body)).set('Idempotency-Key', key);
    expect(first.status).toBe(400);
    expect(first.text.length).toBeLessThan(16 * 1024);
    const { rows } = await t.sql.query<{ size: number }>(
      'SELECT octet_length(response_body::text) AS size FROM idempotency_records WHERE key = $1',
      [key],
    );
    expect(rows[0]!.size).toBeLessThan(16 * 1024);
    const replay = await send('post', '/api/v1/engineers', JSON.stringify(body)).set('Idempotency-Key', key);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.errors).toEqual(first.body.errors);
  });

  it('refuses U+0000 in a query value instead of failing on it', async () => {
    for (const path of ['/api/v1/engineers/available?expertise=%00', '/api/v1/engineers?expertise=a%00', '/api/v1/audit?actorSub=%00']) {
      const res = await t.http.get(path).set(bearer(adminToken()));
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('refuses __proto__, constructor and toString as query parameters, naming them, instead of dropping them', async () => {
    for (const [query, field] of [
      ['__proto__=1', '__proto__'],
      ['__proto__[status]=active', '__proto__'],
      ['constructor=1', 'constructor'],
      ['toString=x', 'toString'],
    ]) {
      const res = await t.http.get(`/api/v1/engineers?${query}`).set(bearer(adminToken()));
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(
        res.body.errors.map((error: { field: string }) => error.field),
        query,
      ).toContain(field);
    }
    expect((await t.http.get('/api/v1/engineers?status=active&page=1').set(bearer(adminToken()))).status).toBe(200);
  });

  it('answers a path the router cannot decode 400 problem+json with every response header; an id of any length is 400; a trailing slash changes nothing', async () => {
    const malformed = await t.http.get('/api/v1/engineers/%E0%A4%A').set(bearer(adminToken())).set('X-Request-Id', 'bad-url');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['content-type']).toContain('application/problem+json');
    expect(malformed.headers).toMatchObject({
      'x-request-id': 'bad-url',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    expect(malformed.body).toMatchObject({ code: 'VALIDATION_FAILED', instance: '/api/v1/engineers/%E0%A4%A', requestId: 'bad-url' });
    const long = await t.http.get(`/api/v1/engineers/${'a'.repeat(5_000)}`).set(bearer(adminToken()));
    expect(long.status).toBe(400);
    expect(long.body.code).toBe('VALIDATION_FAILED');
    const slashed = await t.http.get(`/api/v1/engineers/${engineer.id}/`).set(bearer(adminToken()));
    expect(slashed.status).toBe(200);
    expect(slashed.body.id).toBe(engineer.id);
  });

  it('answers an unknown route at any path 404 problem+json, token or not; public routes ignore Authorization', async () => {
    for (const path of ['/nope', '/api/nope', '/health/nope', '/api/v1/nope', '/metrics/x/y']) {
      for (const headers of [{}, bearer(adminToken()), { Authorization: 'Bearer garbage' }]) {
        for (const method of ['get', 'post', 'delete'] as const) {
          const res = await t.http[method](path).set(headers).set('X-Request-Id', 'unknown-route');
          expect(res.status, `${method} ${path}`).toBe(404);
          expect(res.headers['content-type'], `${method} ${path}`).toContain('application/problem+json');
          expect(res.body).toMatchObject({ code: 'NOT_FOUND', instance: path, requestId: 'unknown-route' });
        }
      }
    }
    expect((await t.http.get('/health/live').set({ Authorization: 'Bearer garbage' })).status).toBe(200);
    expect((await t.http.post('/health/live').set(bearer(adminToken()))).status).toBe(405);
  });
});
