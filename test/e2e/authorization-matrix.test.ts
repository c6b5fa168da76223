import { randomUUID } from 'node:crypto';

import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RouteCatalog } from '@app/http';

import { createEngineer, createIncident } from '../support/factories.js';
import {
  adminToken,
  bearer,
  engineerToken,
  serviceToken,
  startTestApp,
  TEST_JWT_SECRET,
  type TestApp,
  token,
} from '../support/test-app.js';

type Role = 'admin' | 'engineer' | 'service';
type Fixture = 'ownEngineer' | 'ownIncident' | 'ownReview';

const CALLER_KINDS = [
  'none',
  'badSignature',
  'algNone',
  'expired',
  'unknownRole',
  'noRoles',
  'engineerOwner',
  'engineerOther',
  'service',
  'admin',
] as const;
type CallerKind = (typeof CALLER_KINDS)[number];

const UNAUTHENTICATED_KINDS: readonly CallerKind[] = ['none', 'badSignature', 'algNone', 'expired', 'unknownRole'];
const ROLE_OF: Partial<Record<CallerKind, Role>> = {
  engineerOwner: 'engineer',
  engineerOther: 'engineer',
  service: 'service',
  admin: 'admin',
};

interface RoutePolicy {
  /** Who the contract lets through; for `engineer`, only to their own resources (others answer 404). */
  roles: readonly Role[] | 'public';
  /** What `:id` stands for; by default a valid UUID of nothing, so allowed callers reach a 404 or a 400. */
  id?: Fixture;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Exact answers where ownership decides. */
  exact?: Partial<Record<CallerKind, number>>;
}

const ADMIN: readonly Role[] = ['admin'];
const ANY_ROLE: readonly Role[] = ['admin', 'engineer', 'service'];

/** The contract's role table, route by route. A registered route missing here fails the test. */
const POLICY: Record<string, RoutePolicy> = {
  'POST /api/v1/engineers': { roles: ADMIN },
  'GET /api/v1/engineers': { roles: ADMIN, exact: { admin: 200 } },
  'GET /api/v1/engineers/available': { roles: ADMIN, exact: { admin: 200 } },
  'GET /api/v1/engineers/me': { roles: ['engineer'], exact: { engineerOwner: 200, engineerOther: 200 } },
  'GET /api/v1/engineers/:id': {
    roles: ['admin', 'engineer'],
    id: 'ownEngineer',
    exact: { admin: 200, engineerOwner: 200, engineerOther: 404 },
  },
  'PATCH /api/v1/engineers/:id': { roles: ADMIN },
  'DELETE /api/v1/engineers/:id': { roles: ADMIN },
  'POST /api/v1/engineers/:id/drain': { roles: ADMIN },

  'POST /api/v1/incidents': { roles: ['admin', 'service'] },
  'GET /api/v1/incidents': { roles: ['admin', 'service'], exact: { admin: 200, service: 200 } },
  'GET /api/v1/incidents/:id': {
    roles: ANY_ROLE,
    id: 'ownIncident',
    exact: { admin: 200, service: 200, engineerOwner: 200, engineerOther: 404 },
  },
  'PATCH /api/v1/incidents/:id/status': { roles: ['admin', 'service'], body: { status: 'analyzing' } },
  'POST /api/v1/incidents/:id/decision': { roles: ADMIN },
  'GET /api/v1/incidents/:id/decision': {
    roles: ANY_ROLE,
    id: 'ownIncident',
    exact: { admin: 200, service: 200, engineerOwner: 200, engineerOther: 404 },
  },

  'POST /api/v1/reviews': { roles: ADMIN, body: { incidentId: randomUUID(), engineerId: randomUUID() } },
  'POST /api/v1/reviews/auto-assign': { roles: ADMIN, body: { incidentId: randomUUID() } },
  'GET /api/v1/reviews': { roles: ANY_ROLE, exact: { admin: 200, service: 200, engineerOwner: 200, engineerOther: 200 } },
  'GET /api/v1/reviews/:id': {
    roles: ANY_ROLE,
    id: 'ownReview',
    exact: { admin: 200, service: 200, engineerOwner: 200, engineerOther: 404 },
  },
  'POST /api/v1/reviews/:id/start': { roles: ['engineer'], id: 'ownReview', exact: { engineerOwner: 200, engineerOther: 404 } },
  'POST /api/v1/reviews/:id/submit': { roles: ['engineer'], id: 'ownReview', body: { approach: 'Fail over to the replica' } },
  'POST /api/v1/reviews/:id/cancel': { roles: ADMIN, body: { reason: 'matrix' } },
  'POST /api/v1/reviews/:id/reassign': { roles: ADMIN, body: { engineerId: randomUUID(), reason: 'matrix' } },

  'GET /api/v1/audit': { roles: ADMIN, exact: { admin: 200 } },
  'GET /api/v1/audit/export': { roles: ADMIN, exact: { admin: 200 } },
  'GET /api/v1/audit/verify': { roles: ADMIN, exact: { admin: 200 } },
  'GET /api/v1/audit/head': { roles: ADMIN, exact: { admin: 200 } },
  'GET /api/v1/admin/workload/drift': { roles: ADMIN, exact: { admin: 200 } },
  'POST /api/v1/admin/workload/reconcile': { roles: ADMIN, exact: { admin: 200 } },
  'POST /api/v1/sla/escalations/run': { roles: ADMIN, exact: { admin: 200 } },
  'GET /api/v1/webhooks/events': { roles: ADMIN, exact: { admin: 200 } },
  // An unknown Last-Event-ID answers at once instead of opening a stream that never ends.
  'GET /api/v1/events': {
    roles: ANY_ROLE,
    headers: { 'Last-Event-ID': randomUUID() },
    exact: { admin: 409, service: 409, engineerOwner: 409, engineerOther: 409 },
  },

  'GET /health/live': { roles: 'public' },
  'GET /health/ready': { roles: 'public' },
  'GET /metrics': { roles: 'public' },
};

/** Served by Swagger's own Fastify routes, so not in the route catalog, but part of the contract. */
const OUTSIDE_THE_ROUTER = ['GET /docs', 'GET /docs-json'];

type Verdict = { status: number } | { allowed: true };

function expectedFor(policy: RoutePolicy, kind: CallerKind): Verdict {
  if (policy.roles === 'public') return { status: 200 };
  if (UNAUTHENTICATED_KINDS.includes(kind)) return { status: 401 };
  const role = ROLE_OF[kind];
  if (!role || !policy.roles.includes(role)) return { status: 403 };
  const exact = policy.exact?.[kind];
  return exact === undefined ? { allowed: true } : { status: exact };
}

describe('authorization matrix: every route against every kind of caller', () => {
  let t: TestApp;
  let registered: string[];
  const authorization = {} as Record<CallerKind, string | undefined>;
  const fixtures = {} as Record<Fixture, string>;

  beforeAll(async () => {
    t = await startTestApp();
    registered = t.app
      .get(RouteCatalog)
      .list()
      .map((route) => `${route.method} ${route.path}`);

    const owner = await createEngineer(t);
    const other = await createEngineer(t);
    const incident = await createIncident(t);
    const review = await t.http.post('/api/v1/reviews').set(bearer(adminToken())).send({ incidentId: incident.id, engineerId: owner.id });
    if (review.status !== 201) throw new Error(`fixture review: ${review.status} ${JSON.stringify(review.body)}`);
    Object.assign(fixtures, { ownEngineer: owner.id, ownIncident: incident.id, ownReview: review.body.id });

    const now = Math.floor(Date.now() / 1000);
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    Object.assign(authorization, {
      none: undefined,
      badSignature: jwt.sign({ sub: 'admin-1', roles: ['admin'] }, 'some-other-secret-that-is-long-enough-012', { expiresIn: '1h' }),
      algNone: `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'admin-1', roles: ['admin'], exp: now + 3600 })}.`,
      expired: jwt.sign({ sub: 'admin-1', roles: ['admin'], exp: now - 120 }, TEST_JWT_SECRET, { algorithm: 'HS256' }),
      unknownRole: token({ sub: 'admin-1', roles: ['superuser'] }),
      noRoles: token({ sub: 'admin-1', roles: [] }),
      engineerOwner: engineerToken(owner.id),
      engineerOther: engineerToken(other.id),
      service: serviceToken(),
      admin: adminToken(),
    });
  });
  afterAll(async () => t.close());

  it('has a policy for every registered route', () => {
    const missing = registered.filter((route) => !(route in POLICY));
    expect(missing, 'routes without a policy in this test (add them from the contract)').toEqual([]);
    const unregistered = Object.keys(POLICY).filter((route) => !registered.includes(route));
    expect(unregistered, 'contract routes the application does not register').toEqual([]);
  });

  it('answers each route as the contract says for each kind of caller', async () => {
    const routes = [...registered.filter((route) => route in POLICY), ...OUTSIDE_THE_ROUTER];
    const mismatches: string[] = [];
    for (const route of routes) {
      const [method = '', template = ''] = route.split(' ');
      const policy = POLICY[route] ?? { roles: 'public' };
      const path = template.replace(/:[A-Za-z]+/g, (param) => (param === ':id' && policy.id ? fixtures[policy.id] : randomUUID()));
      for (const kind of CALLER_KINDS) {
        const request = t.http[method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete'](path);
        const header = authorization[kind];
        if (header !== undefined) request.set('Authorization', `Bearer ${header}`);
        for (const [name, value] of Object.entries(policy.headers ?? {})) request.set(name, value);
        const res = method === 'GET' || method === 'DELETE' ? await request : await request.send(policy.body ?? {});
        const verdict = expectedFor(policy, kind);
        const problem = res.status >= 400 ? ` ${String(res.body?.code)}` : '';
        if ('status' in verdict) {
          if (res.status !== verdict.status)
            mismatches.push(`${route} as ${kind}: expected ${verdict.status}, got ${res.status}${problem}`);
          const code = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN' }[verdict.status];
          if (code && res.status === verdict.status && res.body?.code !== code)
            mismatches.push(`${route} as ${kind}: code ${String(res.body?.code)} instead of ${code}`);
        } else if (res.status === 401 || res.status === 403 || res.status >= 500) {
          mismatches.push(`${route} as ${kind}: expected to be let through, got ${res.status}${problem}`);
        }
      }
    }
    expect(routes.length).toBeGreaterThan(OUTSIDE_THE_ROUTER.length);
    expect(mismatches).toEqual([]);
  });
});
