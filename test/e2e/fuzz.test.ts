import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RouteCatalog } from '@app/http';

import { type FieldSpec, type IdPools, type RouteInput, routeInputs, validBody } from '../support/dto-arbitraries.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Property-based fuzzing of every route's input, generated from the DTOs' class-validator metadata
 * and mutated. Bounded and reproducible: a fixed seed (FUZZ_SEED overrides it) and a fixed number
 * of runs per property; fast-check prints the seed and the shrunk counterexample on failure.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

/** Every `code` the contract's error table (and its 404/405/413/415 paragraph) defines, with its status. */
const CONTRACT_CODES: Record<string, number> = {
  VALIDATION_FAILED: 400,
  EMAIL_DOMAIN_NOT_ALLOWED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SELF_DECISION_FORBIDDEN: 403,
  NOT_FOUND: 404,
  NO_SUBMITTED_REVIEW: 404,
  METHOD_NOT_ALLOWED: 405,
  EMAIL_TAKEN: 409,
  ENGINEER_UNAVAILABLE: 409,
  ENGINEER_AT_CAPACITY: 409,
  ENGINEER_HAS_OPEN_REVIEWS: 409,
  CAPACITY_BELOW_OPEN_REVIEWS: 409,
  ENGINEER_DELETED: 409,
  INCIDENT_HAS_OPEN_REVIEW: 409,
  INCIDENT_CLOSED: 409,
  NO_ENGINEER_AVAILABLE: 409,
  SAME_ENGINEER: 409,
  INVALID_TRANSITION: 409,
  DECISION_ALREADY_MADE: 409,
  EVENT_ID_EXPIRED: 409,
  ALREADY_VOTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
};

const MAX_ERRORS = 20;
const MAX_KEYS = 1_000;
const MAX_DEPTH = 16;

/** What a generated request must get. */
interface Expectation {
  /** 400 VALIDATION_FAILED and nothing changed. */
  refused: boolean;
  /** A limit (key count, depth): 400 without an `errors` list. */
  overLimit?: boolean;
  /** Valid input: never a 400. */
  valid?: boolean;
}

interface FuzzRequest extends Expectation {
  method: string;
  path: string;
  /** Raw JSON text, so that keys like `__proto__` go out as sent. */
  text?: string;
  idempotencyKey?: boolean;
  token?: string;
}

const INHERITED_KEYS = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];
const CONTROL_CHARACTERS = [...Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)), '\u007f'];

const stringFields = (fields: FieldSpec[]) => fields.filter((field) => field.isString);

/** JSON text of `body` with extra members appended as raw text (JSON.stringify would drop or reject some). */
function jsonWith(body: Record<string, unknown>, extra: [string, unknown][] = []): string {
  const base = JSON.stringify(body);
  if (extra.length === 0) return base;
  const members = extra.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',');
  return base === '{}' ? `{${members}}` : `${base.slice(0, -1)},${members}}`;
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 1; level < depth; level += 1) value = level % 2 ? { n: value } : [value];
  return value;
}

const withField = (body: Record<string, unknown>, name: string, value: unknown) => ({ ...body, [name]: value });

/** A valid body, or none and `{}` for a POST that takes none. */
function baseBody(route: RouteInput): fc.Arbitrary<Record<string, unknown>> {
  return route.body ? validBody(route.body) : fc.constant({});
}

type Mutation = (route: RouteInput) => fc.Arbitrary<{ text: string } & Expectation> | undefined;

const MUTATIONS: Record<string, Mutation> = {
  valid: (route) => baseBody(route).map((body) => ({ text: JSON.stringify(body), refused: false, valid: true })),
  wrongType: (route) =>
    route.body &&
    fc
      .tuple(
        validBody(route.body),
        fc.constantFrom(...route.body),
        fc.constantFrom<unknown>(123, -1, 1.5, true, false, [], {}, '3', 'true', [1, 'a'], { a: 1 }, 1e300),
      )
      .map(([body, field, value]) => ({ text: JSON.stringify(withField(body, field.name, value)), refused: false })),
  nullField: (route) =>
    route.body &&
    fc
      .tuple(validBody(route.body), fc.constantFrom(...route.body))
      .map(([body, field]) => ({ text: JSON.stringify(withField(body, field.name, null)), refused: !field.nullable })),
  badLength: (route) => {
    const bounded = stringFields(route.body ?? []).filter((field) => field.maxLength !== undefined || (field.minLength ?? 0) > 0);
    if (bounded.length === 0) return undefined;
    return fc
      .tuple(validBody(route.body!), fc.constantFrom(...bounded), fc.nat({ max: 50 }), fc.boolean())
      .filter(([, field, , tooLong]) => (tooLong ? field.maxLength !== undefined : (field.minLength ?? 0) > 0))
      .map(([body, field, extra, tooLong]) => ({
        text: JSON.stringify(withField(body, field.name, tooLong ? 'y'.repeat(field.maxLength! + 1 + extra) : ' '.repeat(extra % 4))),
        refused: true,
      }));
  },
  unknownKey: (route) =>
    fc
      .tuple(baseBody(route), fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }))
      .filter(([body, key]) => !(key in body) && !(route.body ?? []).some((field) => field.name === key) && !key.includes('\u0000'))
      .map(([body, key, value]) => ({ text: jsonWith(body, [[key, value]]), refused: true })),
  inheritedKey: (route) =>
    fc
      .tuple(baseBody(route), fc.constantFrom(...INHERITED_KEYS), fc.jsonValue({ maxDepth: 1 }))
      .map(([body, key, value]) => ({ text: jsonWith(body, [[key, value]]), refused: true })),
  controlCharacter: (route) => {
    const strings = stringFields(route.body ?? []);
    if (strings.length === 0) return undefined;
    return fc
      .tuple(validBody(route.body!), fc.constantFrom(...strings), fc.constantFrom(...CONTROL_CHARACTERS), fc.nat())
      .map(([body, field, character, at]) => {
        const current = typeof body[field.name] === 'string' ? (body[field.name] as string) : 'text';
        const position = at % (current.length + 1);
        return {
          text: JSON.stringify(withField(body, field.name, current.slice(0, position) + character + current.slice(position))),
          refused: character === '\u0000',
        };
      });
  },
  nulAnywhere: (route) =>
    fc.tuple(baseBody(route), fc.constantFrom('key', 'value', 'nested value')).map(([body, where]) => ({
      text:
        where === 'key'
          ? jsonWith(body, [['a\u0000b', 1]])
          : jsonWith(body, [['extra', where === 'value' ? '\u0000' : { deep: ['x\u0000'] }]]),
      refused: true,
    })),
  nesting: (route) =>
    fc
      .tuple(
        baseBody(route),
        fc.integer({ min: 2, max: 40 }),
        fc.option(fc.constantFrom(...(route.body ?? [{ name: 'extra' }])), { nil: undefined }),
      )
      .map(([body, depth, field]) => {
        // The body is one level and nested(depth) adds depth - 1: the whole body is `depth` levels deep.
        return {
          text: JSON.stringify(withField(body, field?.name ?? 'extra', nested(depth))),
          refused: true,
          overLimit: depth > MAX_DEPTH,
        };
      }),
  nonObject: () =>
    fc.constantFrom('null', '[]', '[{}]', '"text"', '42', 'true', 'false', '0', '""').map((text) => ({ text, refused: true })),
  tooManyKeys: (route) =>
    fc.tuple(baseBody(route), fc.integer({ min: MAX_KEYS + 1, max: MAX_KEYS + 300 }), fc.boolean()).map(([body, count, flat]) => {
      const keys = Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, index]));
      return { text: JSON.stringify(flat ? { ...body, ...keys } : { ...body, extra: keys }), refused: true, overLimit: true };
    }),
  manyErrors: (route) =>
    fc.tuple(baseBody(route), fc.integer({ min: MAX_ERRORS + 1, max: 200 })).map(([body, count]) => ({
      text: jsonWith(
        body,
        Array.from({ length: count }, (_, index) => [`unknown${index}`, index]),
      ),
      refused: true,
    })),
};

function idPoolFor(route: RouteInput, ids: IdPools): string[] {
  return route.path.includes('/engineers/') ? ids.engineers : route.path.includes('/incidents/') ? ids.incidents : ids.reviews;
}

/** The path with its `:id` replaced by a fixture id, an unknown UUID, or not a UUID. */
function pathFor(route: RouteInput, ids: IdPools): fc.Arbitrary<string> {
  if (!route.path.includes(':id')) return fc.constant(route.path);
  return fc
    .constantFrom(...idPoolFor(route, ids), '00000000-0000-4000-8000-000000000000', 'not-a-uuid')
    .map((id) => route.path.replace(':id', id));
}

/**
 * The path with its `:id` replaced by a fixture id: for properties where only the query varies. The
 * decision view gets a decided incident, which it answers at once whatever `waitSeconds` says.
 */
function fixturePathFor(route: RouteInput, ids: IdPools, decidedIncidentId: string): fc.Arbitrary<string> {
  if (!route.path.includes(':id')) return fc.constant(route.path);
  const pool = route.path.endsWith('/decision') ? [decidedIncidentId] : idPoolFor(route, ids);
  return fc.constantFrom(...pool).map((id) => route.path.replace(':id', id));
}

function queryString(fields: FieldSpec[], values: Record<string, unknown>, extra: [string, string][] = []): string {
  const params = new URLSearchParams();
  for (const field of fields) {
    const value = values[field.name];
    if (value === undefined) continue;
    if (Array.isArray(value) && field.repeatable) value.forEach((item) => params.append(field.name, String(item)));
    else params.append(field.name, Array.isArray(value) ? value.join(',') : String(value));
  }
  for (const [key, value] of extra) params.append(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const BAD_QUERY_VALUES = [
  '',
  'abc',
  '-1',
  '1.5',
  '1e3',
  '99999999999999999999',
  'x'.repeat(300),
  'TRUE',
  ' 1',
  '%',
  'a\u0000b',
  '\u0000',
  'a\u0001b',
  '2026-13-45T00:00:00Z',
];

function queryCase(route: RouteInput): fc.Arbitrary<{ query: string } & Expectation> {
  const fields = route.query!;
  const values = validBody(fields.map((field) => ({ ...field, required: false })));
  return fc.oneof(
    values.map((valid) => ({ query: queryString(fields, valid), refused: false, valid: true })),
    fc.tuple(values, fc.constantFrom(...fields), fc.constantFrom(...BAD_QUERY_VALUES)).map(([valid, field, bad]) => ({
      query: queryString(fields, { ...valid, [field.name]: undefined }, [[field.name, bad]]),
      // An empty value and U+0000 are refused whatever the field.
      refused: bad === '' || bad.includes('\u0000'),
    })),
    fc
      .tuple(values, fc.constantFrom('unknown', 'toString', 'constructor', 'valueOf', 'x\u0000'))
      .map(([valid, key]) => ({ query: queryString(fields, valid, [[key, '1']]), refused: true })),
  );
}

describe('fuzzing every route from its DTOs (property-based, on real PostgreSQL)', () => {
  let t: TestApp;
  let ids: IdPools;
  let decidedIncidentId: string;
  let inputs: RouteInput[];
  /** Generated values name their route by key, so that a counterexample prints short. */
  let byKey: Map<string, RouteInput>;
  let engineerTokenValue: string;
  let keyCounter = 0;

  beforeAll(async () => {
    t = await startTestApp();
    const owner = await createEngineer(t, { maxConcurrentReviews: 50, expertise: ['db'] });
    const other = await createEngineer(t, { maxConcurrentReviews: 50 });
    const incidents = [await createIncident(t), await createIncident(t), await createIncident(t)];
    const reviews = [];
    for (const incident of incidents.slice(0, 2)) {
      const res = await t.http.post('/api/v1/reviews').set(bearer(adminToken())).send({ incidentId: incident.id, engineerId: owner.id });
      reviews.push(res.body.id as string);
    }
    ids = { engineers: [owner.id, other.id], incidents: incidents.map((incident) => incident.id as string), reviews };
    engineerTokenValue = engineerToken(owner.id);
    const decided = await createIncident(t);
    const review = await t.http.post('/api/v1/reviews').set(bearer(adminToken())).send({ incidentId: decided.id, engineerId: other.id });
    await t.http
      .post(`/api/v1/reviews/${review.body.id}/submit`)
      .set(bearer(engineerToken(other.id)))
      .send({ approach: 'Roll back' })
      .expect(200);
    await t.http
      .post(`/api/v1/incidents/${decided.id}/decision`)
      .set(bearer(adminToken()))
      .send({ decision: 'ai_approach', rationale: 'fixture' })
      .expect(200);
    decidedIncidentId = decided.id as string;
    inputs = routeInputs(t.app.get(RouteCatalog).list(), ids).filter((route) => route.path.startsWith('/api/v1/'));
    byKey = new Map(inputs.map((route) => [route.key, route]));
  });
  afterAll(async () => {
    await t?.close();
  });

  /** What a refused request must leave untouched: the main tables and the audit trail. */
  async function checksum(): Promise<string> {
    const { rows } = await t.sql.query<{ sum: string }>(
      `SELECT concat_ws('|',
         (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM engineers t),
         (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM incidents t),
         (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM reviews t),
         (SELECT count(*) FROM audit_entries)) AS sum`,
    );
    return rows[0]!.sum;
  }

  async function send(request: FuzzRequest): Promise<void> {
    const headers: Record<string, string> = {};
    if (request.token !== '') headers.Authorization = `Bearer ${request.token ?? adminToken()}`;
    if (request.text !== undefined) headers['Content-Type'] = 'application/json';
    if (request.idempotencyKey) headers['Idempotency-Key'] = `fuzz-${process.pid}-${(keyCounter += 1)}`;
    const before = await checksum();
    const res = await fetch(`${t.baseUrl}${request.path}`, { method: request.method, headers, body: request.text });
    const text = await res.text();
    const what = `${request.method} ${request.path} ${JSON.stringify(request.text?.slice(0, 300))} → ${res.status} ${text.slice(0, 500)}`;
    expect(res.status, what).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(text) as { status: number; code: string; errors?: unknown[]; detail?: string };
      expect(CONTRACT_CODES[problem.code], what).toBe(res.status);
      expect(problem.status, what).toBe(res.status);
      expect(problem.errors?.length ?? 0, what).toBeLessThanOrEqual(MAX_ERRORS);
      expect(await checksum(), `a refused request changed data: ${what}`).toBe(before);
    }
    if (request.refused) {
      expect(res.status, `must be refused: ${what}`).toBe(400);
      if (request.overLimit) expect(JSON.parse(text).errors, `a limit has no errors list: ${what}`).toBeUndefined();
    }
    if (request.valid) expect(res.status, `valid input refused: ${what}`).not.toBe(400);
  }

  const tokenFor = (route: RouteInput) => (route.role === 'admin' ? adminToken() : engineerTokenValue);

  function bodyProperty(mutations: string[]) {
    const cases = inputs
      .filter((route) => route.body || route.noBody)
      .flatMap((route) => mutations.flatMap((name) => MUTATIONS[name]!(route)?.map((mutated) => ({ route: route.key, ...mutated })) ?? []));
    expect(cases.length).toBeGreaterThan(0);
    return fc.asyncProperty(
      fc
        .oneof(...cases)
        .chain((generated) =>
          fc
            .record({ path: pathFor(byKey.get(generated.route)!, ids), idempotencyKey: fc.boolean() })
            .map((extra) => ({ ...generated, ...extra })),
        ),
      async ({ route: key, text, path, idempotencyKey, ...expectation }) => {
        const route = byKey.get(key)!;
        // A valid body may still meet a domain 404/409 when the fixture id is gone or a bad path id is a 400.
        const valid = expectation.valid && !path.includes('not-a-uuid');
        await send({ method: route.method, path, text, idempotencyKey, token: tokenFor(route), ...expectation, valid });
      },
    );
  }

  const run = (property: fc.IAsyncProperty<any>, runs = RUNS) => fc.assert(property, { seed: SEED, numRuns: runs });

  it('answers valid bodies with a 2xx or a domain error, never a 400 or a 5xx', async () => {
    await run(bodyProperty(['valid']));
  });

  it('refuses wrong types, nulls and bad lengths as the contract says', async () => {
    await run(bodyProperty(['wrongType', 'nullField', 'badLength']));
  });

  it('refuses unknown keys, inherited names (toString, __proto__, …) included', async () => {
    await run(bodyProperty(['unknownKey', 'inheritedKey']));
  });

  it('refuses U+0000 anywhere and keeps other control characters as data', async () => {
    await run(bodyProperty(['controlCharacter', 'nulAnywhere']));
  });

  it('refuses non-object bodies, deep nesting and too many keys (limits without an errors list)', async () => {
    await run(bodyProperty(['nonObject', 'nesting', 'tooManyKeys']), RUNS / 2);
  });

  it('caps the errors list at 20 entries', async () => {
    await run(bodyProperty(['manyErrors']), RUNS / 2);
  });

  it('parses query strings strictly: bad values are 400, never 5xx', async () => {
    const routes = inputs.filter((route) => route.query);
    await run(
      fc.asyncProperty(
        fc
          .constantFrom(...routes)
          .chain((route) =>
            fc
              .tuple(queryCase(route), fixturePathFor(route, ids, decidedIncidentId))
              .map(([generated, path]) => ({ route: route.key, path, ...generated })),
          ),
        async ({ route: key, path, query, ...expectation }) => {
          const route = byKey.get(key)!;
          await send({ method: route.method, path: `${path}${query}`, token: tokenFor(route), ...expectation });
        },
      ),
    );
  });

  it('answers unknown routes 404 and wrong methods 405 as problem+json at any path, token or not', async () => {
    const segment = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
    const unknown = fc
      .tuple(
        fc.constantFrom('', '/api/v1', '/api', '/health', '/metrics', '/api/v2'),
        segment,
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      )
      .map(([prefix, name, method]) => ({ method, path: `${prefix}/zz-${name}`, status: 404 }));
    const wrongMethod = fc
      .constantFrom(...inputs)
      .chain((route) => pathFor(route, ids))
      .map((path) => ({ method: 'PUT', path, status: 405 }));
    await run(
      fc.asyncProperty(
        fc.oneof(unknown, wrongMethod),
        fc.constantFrom('', adminToken(), 'garbage'),
        async ({ method, path, status }, token) => {
          const res = await fetch(`${t.baseUrl}${path}`, { method, headers: token ? { Authorization: `Bearer ${token}` } : {} });
          const what = `${method} ${path} → ${res.status}`;
          expect(res.status, what).toBe(status);
          expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
          expect(((await res.json()) as { code: string }).code, what).toBe(status === 404 ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED');
        },
      ),
    );
  });
});
