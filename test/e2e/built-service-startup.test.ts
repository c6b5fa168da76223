import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BUILT_MAIN, exitOf, spawnBuilt } from '../support/built-service.js';
import { SERVER_URL } from '../support/database.js';

// The built service as operators start it (`node dist/…` and `npm run start:prod`): configuration
// that would weaken authentication stops the process before it listens, naming the variable.

const SECRET = 'a-production-secret-of-at-least-32-characters';
const EXIT_WITHIN_MS = 60_000;
const { publicKey } = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'metrics-token' };

const refusals: [label: string, env: Record<string, string>, message: RegExp][] = [
  ['no secret, NODE_ENV unset', {}, /JWT_SECRET is required.*no built-in secret/],
  ['no secret, NODE_ENV=development', { NODE_ENV: 'development' }, /JWT_SECRET is required.*no built-in secret/],
  ['no secret, NODE_ENV=test', { NODE_ENV: 'test' }, /JWT_SECRET is required.*no built-in secret/],
  ['no secret, NODE_ENV=production', { NODE_ENV: 'production', METRICS_TOKEN: 'm' }, /JWT_SECRET is required/],
  [
    'production without METRICS_TOKEN',
    { NODE_ENV: 'production', JWT_SECRET: SECRET },
    /METRICS_TOKEN is required in production.*METRICS_PUBLIC=true/,
  ],
  ['a public key without an audience', { JWT_PUBLIC_KEY: publicKey }, /JWT_AUDIENCE is required with JWT_PUBLIC_KEY/],
  ['a JWKS without an audience', { JWT_JWKS_URL: 'https://idp.example.com/jwks.json' }, /JWT_AUDIENCE is required with JWT_JWKS_URL/],
  [
    'a JWKS over plain http to another host',
    { JWT_JWKS_URL: 'http://idp.example.com/jwks.json', JWT_AUDIENCE: 'ers' },
    /JWT_JWKS_URL must use https:/,
  ],
  ['a short secret', { JWT_SECRET: 'short' }, /JWT_SECRET must be at least 32 characters/],
  [
    'a short webhook secret in production',
    { ...PRODUCTION, WEBHOOK_URL: 'https://hooks.example.com/x', WEBHOOK_SECRET: 'x' },
    /WEBHOOK_SECRET must be at least 32 characters/,
  ],
  [
    'webhooks over plain http to another host in production',
    { ...PRODUCTION, WEBHOOK_URL: 'http://hooks.example.com/x', WEBHOOK_SECRET: 's'.repeat(32) },
    /WEBHOOK_URL must use https:/,
  ],
  ['a short audit chain key', { ...PRODUCTION, AUDIT_HMAC_KEY: 'too-short' }, /AUDIT_HMAC_KEY must be at least 32 characters/],
];

describe('the built service refuses to start with weak authentication settings', () => {
  it.each(refusals)('node dist/…/main.js with %s: exit 1 naming the variable', async (_label, env, message) => {
    const result = await exitOf(spawnBuilt([BUILT_MAIN], { DATABASE_URL: SERVER_URL, ...env }), EXIT_WITHIN_MS);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toMatch(message);
    expect(result.output).not.toMatch(/listening/);
  });

  it('npm run start:prod on a database server without a secret: exit 1 naming JWT_SECRET', async () => {
    const result = await exitOf(spawnBuilt(['scripts/start.mjs', '--built'], { DATABASE_URL: SERVER_URL }), EXIT_WITHIN_MS);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toMatch(/JWT_SECRET is required/);
  });

  describe('npm run start:prod on the embedded database', () => {
    let dataDir: string;
    beforeAll(() => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'ers-built-'));
    });
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('does not fall back to the development secret that npm start uses', async () => {
      const env = { EMBEDDED_DATA_DIR: path.join(dataDir, 'pglite'), EMBEDDED_DATABASE_PORT: '0' };
      const result = await exitOf(spawnBuilt(['scripts/start.mjs', '--built'], env), 180_000);
      expect(result.code, result.output).toBe(1);
      expect(result.output).toMatch(/JWT_SECRET is required/);
      expect(result.output).not.toMatch(/DEVELOPMENT secret/);
    }, 200_000);
  });

  it('starts when the settings are sound (the refusals above are about those variables alone)', async () => {
    const child = spawnBuilt([BUILT_MAIN], {
      DATABASE_URL: SERVER_URL,
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      METRICS_TOKEN: 'metrics-token',
      PORT: '0',
      HOST: '127.0.0.1',
      SCHEDULER_ENABLED: 'false',
      LOG_LEVEL: 'info',
    });
    try {
      const deadline = Date.now() + EXIT_WITHIN_MS;
      while (!/listening on 127\.0\.0\.1:\d+/.test(child.output()) && Date.now() < deadline && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(child.output())?.[1];
      expect(port, child.output()).toBeDefined();
      const live = await fetch(`http://127.0.0.1:${port}/health/live`);
      expect(live.status).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await exitOf(child, 20_000);
    }
  });
});
