import { execFile } from 'node:child_process';
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { bearer, startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/test-app.js';

const PROTECTED = '/api/v1/engineers';
const ADMIN = { sub: 'admin-1', roles: ['admin'] };
type PemPair = { publicKey: string; privateKey: string };
const spki = { type: 'spki', format: 'pem' } as const;
const pkcs8 = { type: 'pkcs8', format: 'pem' } as const;
const rsaKeys = (): PemPair => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });
const ecKeys = (): PemPair => generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs exactly the claims given: no exp unless the test sets one. */
function signed(claims: Record<string, unknown>, key: jwt.Secret = TEST_JWT_SECRET, algorithm: jwt.Algorithm = 'HS256'): string {
  return jwt.sign(claims, key, { algorithm, noTimestamp: true });
}

const valid = (claims: Record<string, unknown> = {}): Record<string, unknown> => ({ ...ADMIN, exp: nowSeconds() + 3600, ...claims });

/** An HS256 token made by hand, for keys jsonwebtoken would refuse to use as an HMAC secret. */
function hmacToken(claims: Record<string, unknown>, secret: string, alg = 'HS256'): string {
  const unsigned = `${base64url({ alg, typ: 'JWT' })}.${base64url(claims)}`;
  const digest = alg === 'HS512' ? 'sha512' : 'sha256';
  return `${unsigned}.${createHmac(digest, secret).update(unsigned).digest('base64url')}`;
}

async function expectRejected(t: TestApp, token: string, status: 401 | 403, detail?: RegExp): Promise<void> {
  const res = await t.http.get(PROTECTED).set(bearer(token)).set('X-Request-Id', 'auth-check');
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.body).toMatchObject({
    status,
    code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
    requestId: 'auth-check',
    instance: PROTECTED,
  });
  if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
  if (detail) expect(res.body.detail).toMatch(detail);
  expect(JSON.stringify(res.body)).not.toContain(token.split('.')[2] || token);
}

async function expectAccepted(t: TestApp, token: string): Promise<void> {
  const res = await t.http.get(PROTECTED).set(bearer(token));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

describe('JWT authentication with HS256 and JWT_SECRET', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('accepts a valid token and rejects a missing one or another scheme', async () => {
    await expectAccepted(t, signed(valid()));
    const none = await t.http.get(PROTECTED);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'Authentication failed: missing bearer token' });
    expect((await t.http.get(PROTECTED).set('Authorization', `Basic ${Buffer.from('admin:admin').toString('base64')}`)).status).toBe(401);
    expect((await t.http.get(PROTECTED).set('Authorization', 'Bearer')).status).toBe(401);
  });

  it('rejects a bad signature, alg none and any algorithm other than HS256', async () => {
    await expectRejected(t, signed(valid(), 'another-secret-that-is-long-enough-012345'), 401, /invalid signature/);
    const algNone = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(valid())}.`;
    await expectRejected(t, algNone, 401);
    const algNoneSigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(valid())}.${createHmac('sha256', TEST_JWT_SECRET).update('x').digest('base64url')}`;
    await expectRejected(t, algNoneSigned, 401);
    await expectRejected(t, signed(valid(), TEST_JWT_SECRET, 'HS512'), 401, /invalid algorithm/);
    await expectRejected(t, hmacToken(valid(), TEST_JWT_SECRET, 'HS512'), 401, /invalid algorithm/);
    await expectRejected(t, 'not.a.jwt', 401);
    await expectRejected(t, 'garbage', 401);
  });

  it('requires exp and allows at most 30 s of clock skew', async () => {
    await expectRejected(t, signed({ ...ADMIN }), 401, /no exp/);
    await expectRejected(t, signed(valid({ exp: nowSeconds() - 45 })), 401, /token expired/);
    await expectRejected(t, signed(valid({ exp: nowSeconds() - 3600 })), 401, /token expired/);
    await expectRejected(t, hmacToken(valid({ exp: String(nowSeconds() + 3600) }), TEST_JWT_SECRET), 401, /invalid exp value/);
    await expectAccepted(t, signed(valid({ exp: nowSeconds() - 10 })));
    await expectRejected(t, signed(valid({ nbf: nowSeconds() + 120 })), 401, /not active/);
  });

  it('requires sub to be a non-empty string', async () => {
    await expectRejected(t, signed({ roles: ['admin'], exp: nowSeconds() + 60 }), 401, /sub/);
    await expectRejected(t, signed(valid({ sub: '' })), 401, /sub/);
    await expectRejected(t, signed(valid({ sub: '   ' })), 401, /sub/);
    await expectRejected(t, signed(valid({ sub: 42 })), 401, /sub/);
  });

  it('requires roles to be an array of known role names; [] is authenticated but forbidden', async () => {
    await expectRejected(t, signed({ sub: 'x', exp: nowSeconds() + 60 }), 401, /roles/);
    await expectRejected(t, signed(valid({ roles: 'admin' })), 401, /roles/);
    await expectRejected(t, signed(valid({ roles: [1] })), 401, /roles/);
    await expectRejected(t, signed(valid({ roles: ['admin', 'root'] })), 401, /Unknown role\(s\): root/);
    await expectRejected(t, signed(valid({ roles: ['Admin'] })), 401, /Unknown role/);
    await expectRejected(t, signed(valid({ roles: [] })), 403);
    await expectRejected(t, signed(valid({ roles: ['service'] })), 403);
    await expectAccepted(t, signed(valid({ roles: ['service', 'admin'] })));
  });

  it('ignores any Authorization header on public routes, but not on unknown ones', async () => {
    for (const path of ['/health/live', '/health/ready', '/docs-json']) {
      for (const header of ['Bearer garbage', `Bearer ${signed(valid({ exp: 1 }))}`, 'Basic Zm9vOmJhcg==', '']) {
        const res = await t.http.get(path).set('Authorization', header);
        expect(res.status, `${path} with "${header}"`).toBe(200);
      }
    }
    const unknown = await t.http.get('/api/v1/nothing-here').set('Authorization', 'Bearer garbage');
    expect(unknown.status).toBe(404);
  });

  it('accepts the tokens minted by npm run token', async () => {
    const script = path.join(import.meta.dirname, '..', '..', 'tools', 'token.ts');
    const env = { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_JWT_SECRET };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', '@swc-node/register/esm-register', script, '--role', 'admin', '--ttl', '5m'],
      { env },
    );
    await expectAccepted(t, stdout.trim());
  });
});

describe('JWT authentication with RS256, JWT_PUBLIC_KEY, JWT_ISSUER and JWT_AUDIENCE', () => {
  const rsa = rsaKeys();
  const otherRsa = rsaKeys();
  const ec = ecKeys();
  const ISSUER = 'https://idp.example.com/';
  const AUDIENCE = 'engineer-review-api';
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => valid({ iss: ISSUER, aud: AUDIENCE, ...extra });
  let t: TestApp;
  beforeAll(async () => {
    // JWT_SECRET stays set (startTestApp sets it): the public key must win over it.
    t = await startTestApp({ JWT_PUBLIC_KEY: rsa.publicKey, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => t.close());

  it('accepts RS256 tokens signed by the matching private key', async () => {
    await expectAccepted(t, signed(claims(), rsa.privateKey, 'RS256'));
    await expectAccepted(t, signed(claims({ aud: ['other-api', AUDIENCE] }), rsa.privateKey, 'RS256'));
  });

  it('rejects HS256 (with the configured secret or with the public key as HMAC secret), other keys and other algorithms', async () => {
    await expectRejected(t, signed(claims(), TEST_JWT_SECRET, 'HS256'), 401, /invalid algorithm/);
    await expectRejected(t, hmacToken(claims(), rsa.publicKey), 401, /invalid algorithm/);
    await expectRejected(t, signed(claims(), otherRsa.privateKey, 'RS256'), 401, /invalid signature/);
    await expectRejected(t, signed(claims(), rsa.privateKey, 'RS512'), 401, /invalid algorithm/);
    await expectRejected(t, signed(claims(), rsa.privateKey, 'PS256'), 401, /invalid algorithm/);
    await expectRejected(t, signed(claims(), ec.privateKey, 'ES256'), 401, /invalid algorithm/);
    await expectRejected(t, `${base64url({ alg: 'none' })}.${base64url(claims())}.`, 401);
  });

  it('checks iss and aud without telling the caller which values are expected', async () => {
    const cases = [
      claims({ iss: 'https://evil.example.com/' }),
      claims({ iss: undefined }),
      claims({ aud: 'another-api' }),
      claims({ aud: undefined }),
    ];
    for (const body of cases) {
      const token = signed(JSON.parse(JSON.stringify(body)) as Record<string, unknown>, rsa.privateKey, 'RS256');
      await expectRejected(t, token, 401, /jwt (issuer|audience) invalid/);
      const res = await t.http.get(PROTECTED).set(bearer(token));
      expect(res.body.detail).not.toContain(ISSUER);
      expect(res.body.detail).not.toContain(AUDIENCE);
    }
  });

  it('still applies the claim rules: expiry with skew, roles and sub', async () => {
    await expectAccepted(t, signed(claims({ exp: nowSeconds() - 10 }), rsa.privateKey, 'RS256'));
    await expectRejected(t, signed(claims({ exp: nowSeconds() - 45 }), rsa.privateKey, 'RS256'), 401);
    await expectRejected(t, signed(claims({ roles: ['superuser'] }), rsa.privateKey, 'RS256'), 401);
    await expectRejected(t, signed(claims({ roles: [] }), rsa.privateKey, 'RS256'), 403);
    await expectRejected(t, signed(claims({ sub: '' }), rsa.privateKey, 'RS256'), 401);
  });
});

describe('JWT authentication with ES256 and JWT_PUBLIC_KEY', () => {
  const ec = ecKeys();
  const otherEc = ecKeys();
  const rsa = rsaKeys();
  const audienced = (extra: Record<string, unknown> = {}): Record<string, unknown> => valid({ aud: 'engineer-review-api', ...extra });
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ JWT_PUBLIC_KEY: ec.publicKey, JWT_AUDIENCE: 'engineer-review-api' });
  });
  afterAll(async () => t.close());

  it('accepts ES256 tokens signed by the matching key and nothing else', async () => {
    await expectAccepted(t, signed(audienced(), ec.privateKey, 'ES256'));
    await expectRejected(t, signed(audienced(), otherEc.privateKey, 'ES256'), 401, /invalid signature/);
    await expectRejected(t, signed(audienced(), rsa.privateKey, 'RS256'), 401, /invalid algorithm/);
    await expectRejected(t, signed(audienced(), TEST_JWT_SECRET, 'HS256'), 401, /invalid algorithm/);
    await expectRejected(t, hmacToken(audienced(), ec.publicKey), 401, /invalid algorithm/);
    await expectRejected(t, `${base64url({ alg: 'none' })}.${base64url(audienced())}.`, 401);
  });

  it('refuses a token the same identity provider issued for another application', async () => {
    await expectRejected(t, signed(valid(), ec.privateKey, 'ES256'), 401, /audience/);
    await expectRejected(t, signed(audienced({ aud: 'payroll' }), ec.privateKey, 'ES256'), 401, /audience/);
  });
});

describe("JWT authentication with an identity provider's JWKS (JWT_JWKS_URL)", () => {
  const AUDIENCE = 'engineer-review-api';
  const keys = { k1: rsaKeys(), k2: ecKeys(), k3: rsaKeys() };
  const jwk = (kid: keyof typeof keys, alg: string): Record<string, unknown> => ({
    ...createPublicKey(keys[kid].publicKey).export({ format: 'jwk' }),
    kid,
    alg,
    use: 'sig',
  });
  let published: Record<string, unknown>[] = [jwk('k1', 'RS256')];
  let fetches = 0;
  let server: Server;
  let t: TestApp;
  let clockOffsetMs = 0;
  const realNow = Date.now.bind(Date);
  const byKid = (kid: keyof typeof keys, extra: Record<string, unknown> = {}): string =>
    jwt.sign({ ...ADMIN, aud: AUDIENCE, exp: Math.floor((realNow() + clockOffsetMs) / 1000) + 600, ...extra }, keys[kid].privateKey, {
      algorithm: kid === 'k2' ? 'ES256' : 'RS256',
      keyid: kid,
      noTimestamp: true,
    });

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches += 1;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    t = await startTestApp({ JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`, JWT_AUDIENCE: AUDIENCE });
    // jose times its refetch cooldown with Date.now(): moving this process's clock stands in for waiting 30 s.
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + clockOffsetMs);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t.close();
    server.close();
  });

  it('accepts a token signed by a published key, chosen by kid, and refuses HS256 and other audiences', async () => {
    await expectAccepted(t, byKid('k1'));
    expect(fetches).toBe(1);
    await expectAccepted(t, byKid('k1'));
    expect(fetches).toBe(1);
    await expectRejected(t, signed(valid({ aud: AUDIENCE }), TEST_JWT_SECRET, 'HS256'), 401);
    await expectRejected(t, byKid('k1', { aud: 'another-app' }), 401, /audience/);
  });

  it('follows a key rotation to a new kid, fetching again at most once per 30 s', async () => {
    published = [jwk('k1', 'RS256'), jwk('k2', 'ES256')];
    const before = fetches;
    // The set was fetched moments ago: an unknown kid does not fetch it again yet.
    await expectRejected(t, byKid('k2'), 401);
    for (let i = 0; i < 5; i += 1) await expectRejected(t, byKid('k3'), 401);
    expect(fetches).toBe(before);
    clockOffsetMs += 31_000;
    await expectAccepted(t, byKid('k2'));
    expect(fetches).toBe(before + 1);
    for (let i = 0; i < 5; i += 1) await expectRejected(t, byKid('k3'), 401);
    expect(fetches).toBe(before + 1);
    await expectAccepted(t, byKid('k1'));
  });

  it('answers 401, never a 5xx, while the key server cannot be reached', async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    clockOffsetMs += 31_000;
    await expectRejected(t, byKid('k3'), 401);
    // Past the cache's age even a known kid needs the set again, and it cannot be had.
    clockOffsetMs += 11 * 60_000;
    await expectRejected(t, byKid('k1'), 401);
  });
});

describe('token lifetime (JWT_MAX_TTL_SECONDS)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ JWT_MAX_TTL_SECONDS: '3600' });
  });
  afterAll(async () => t.close());

  it('refuses a token whose exp lies further ahead than the maximum (30 s of skew allowed)', async () => {
    await expectAccepted(t, signed(valid({ exp: nowSeconds() + 3600 })));
    await expectAccepted(t, signed(valid({ exp: nowSeconds() + 3620 })));
    await expectRejected(t, signed(valid({ exp: nowSeconds() + 3700 })), 401, /lifetime exceeds/);
    await expectRejected(t, signed(valid({ exp: 253402300799 })), 401, /lifetime exceeds/);
  });
});
