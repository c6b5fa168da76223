import { generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { ConfigError, loadAppConfig } from './app-config.js';

const SECRET_32 = 'x'.repeat(32);
const BASE = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/ers', NODE_ENV: 'test', JWT_SECRET: SECRET_32 };
const PRODUCTION = { ...BASE, NODE_ENV: 'production', METRICS_TOKEN: 'metrics-token' };

type PemPair = { publicKey: string; privateKey: string };
const spki = { type: 'spki', format: 'pem' } as const;
const pkcs8 = { type: 'pkcs8', format: 'pem' } as const;
const rsaKeys = (modulusLength: number): PemPair =>
  generateKeyPairSync('rsa', { modulusLength, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });
const ecKeys = (namedCurve: string): PemPair =>
  generateKeyPairSync('ec', { namedCurve, publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });
const ed25519Keys = (): PemPair => generateKeyPairSync('ed25519', { publicKeyEncoding: spki, privateKeyEncoding: pkcs8 });

function failure(env: Record<string, string | undefined>): ConfigError {
  try {
    loadAppConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadAppConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadAppConfig(BASE);
    expect(config).toMatchObject({
      nodeEnv: 'test',
      host: '0.0.0.0',
      port: 3000,
      migrateOnStart: false,
      logLevel: 'info',
      jwt: { secret: SECRET_32, algorithms: ['HS256'], maxTtlSeconds: 86_400 },
      allowedEmailDomains: null,
      slaSeconds: { critical: 3600, high: 14400, normal: 86400, low: 259200 },
      escalation: { schedulerEnabled: true, intervalSeconds: 60, autoReassign: false },
      decisionSlaSeconds: 3600,
      assignRateLimit: { limit: 60, windowSeconds: 60 },
    });
    expect(config.escalation.level2AfterSeconds).toBeUndefined();
    expect(config.jwt.issuer).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.metricsToken).toBeUndefined();
    expect(config.metricsPublic).toBe(false);
  });

  const invalid: [variable: string, env: Record<string, string>][] = [
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['DATABASE_URL', { DATABASE_URL: '' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://127.0.0.1/ers' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '80a' }],
    ['DATABASE_POOL_MAX', { DATABASE_POOL_MAX: '0' }],
    ['MIGRATE_ON_START', { MIGRATE_ON_START: 'yes' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['JWT_SECRET', { JWT_SECRET: 'x'.repeat(31) }],
    ['JWT_SECRET', { ...PRODUCTION, JWT_SECRET: 'short-production-secret' }],
    ['JWT_MAX_TTL_SECONDS', { JWT_MAX_TTL_SECONDS: '59' }],
    ['JWT_MAX_TTL_SECONDS', { JWT_MAX_TTL_SECONDS: '1d' }],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'not a url', JWT_AUDIENCE: 'ers' }],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'http://idp.example.com/jwks.json', JWT_AUDIENCE: 'ers' }],
    ['JWT_AUDIENCE', { JWT_JWKS_URL: 'https://idp.example.com/jwks.json' }],
    ['METRICS_PUBLIC', { METRICS_PUBLIC: 'yes' }],
    ['JWT_PUBLIC_KEY', { JWT_PUBLIC_KEY: 'ssh-rsa AAAAB3NzaC1yc2E' }],
    ['JWT_PUBLIC_KEY', { JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----' }],
    ['ALLOWED_EMAIL_DOMAINS', { ALLOWED_EMAIL_DOMAINS: 'example.com,not a domain' }],
    ['SLA_CRITICAL_SECONDS', { SLA_CRITICAL_SECONDS: '0' }],
    ['SLA_HIGH_SECONDS', { SLA_HIGH_SECONDS: '-5' }],
    ['SLA_NORMAL_SECONDS', { SLA_NORMAL_SECONDS: '1.5' }],
    ['SLA_LOW_SECONDS', { SLA_LOW_SECONDS: 'three days' }],
    ['SCHEDULER_ENABLED', { SCHEDULER_ENABLED: '1' }],
    ['ESCALATION_INTERVAL_SECONDS', { ESCALATION_INTERVAL_SECONDS: '0' }],
    ['ESCALATION_LEVEL2_AFTER_SECONDS', { ESCALATION_LEVEL2_AFTER_SECONDS: 'half' }],
    ['ESCALATION_AUTO_REASSIGN', { ESCALATION_AUTO_REASSIGN: 'TRUE' }],
    ['ESCALATION_BATCH_SIZE', { ESCALATION_BATCH_SIZE: '10001' }],
    ['DECISION_SLA_SECONDS', { DECISION_SLA_SECONDS: '0' }],
    ['WEBHOOK_URL', { WEBHOOK_URL: 'ftp://hooks.example.com/x', WEBHOOK_SECRET: 's' }],
    ['WEBHOOK_SECRET', { WEBHOOK_URL: 'https://hooks.example.com/x' }],
    ['ASSIGN_RATE_LIMIT', { ASSIGN_RATE_LIMIT: '0' }],
    ['ASSIGN_RATE_WINDOW_SECONDS', { ASSIGN_RATE_WINDOW_SECONDS: 'a minute' }],
    ['REDIS_URL', { REDIS_URL: 'http://127.0.0.1:6379' }],
    ['WEBHOOK_SECRET', { WEBHOOK_URL: 'https://hooks.example.com/x', WEBHOOK_SECRET: 'whsec_not base64!' }],
    ['WEBHOOK_SECRET', { NODE_ENV: 'production', JWT_SECRET: SECRET_32, WEBHOOK_URL: 'https://hooks.example.com/x', WEBHOOK_SECRET: 'x' }],
    [
      'WEBHOOK_SECRET',
      { NODE_ENV: 'production', JWT_SECRET: SECRET_32, WEBHOOK_URL: 'https://hooks.example.com/x', WEBHOOK_SECRET: 'x'.repeat(31) },
    ],
    [
      'WEBHOOK_URL',
      { NODE_ENV: 'production', JWT_SECRET: SECRET_32, WEBHOOK_URL: 'http://hooks.example.com/x', WEBHOOK_SECRET: SECRET_32 },
    ],
    [
      'WEBHOOK_URL',
      { NODE_ENV: 'production', JWT_SECRET: SECRET_32, WEBHOOK_URL: 'http://127.0.0.1.example.com/x', WEBHOOK_SECRET: SECRET_32 },
    ],
    ['WEBHOOK_ALLOW_HTTP', { WEBHOOK_ALLOW_HTTP: 'yes' }],
    ['AUDIT_HMAC_KEY', { AUDIT_HMAC_KEY: 'k'.repeat(31) }],
    ['AUDIT_HMAC_KEY', { AUDIT_HMAC_KEY: `${'k'.repeat(32)},short` }],
    ['AUDIT_HMAC_KEY', { AUDIT_HMAC_KEY: 'unkeyed' }],
    ['AUDIT_HMAC_KEY', { AUDIT_HMAC_KEY: `unkeyed,${'k'.repeat(32)}` }],
    ['OIDC_ISSUER', { OIDC_ISSUER: 'accounts.example.com', OIDC_CLIENT_ID: 'console' }],
    ['OIDC_CLIENT_ID', { OIDC_ISSUER: 'https://accounts.example.com' }],
    ['OIDC_ISSUER', { OIDC_CLIENT_ID: 'console' }],
  ];

  it('reads the console sign-in settings as a pair', () => {
    expect(loadAppConfig(BASE).oidc).toEqual({ issuer: undefined, clientId: undefined });
    expect(
      loadAppConfig({ ...BASE, OIDC_ISSUER: 'https://accounts.example.com/realms/ops', OIDC_CLIENT_ID: 'review-console' }).oidc,
    ).toEqual({
      issuer: 'https://accounts.example.com/realms/ops',
      clientId: 'review-console',
    });
  });

  it.each(invalid)('refuses an invalid %s with a message naming it', (variable, env) => {
    const error = failure({ ...BASE, ...env });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it('has no built-in secret: without JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL it refuses to start, whatever NODE_ENV says', () => {
    for (const nodeEnv of ['development', 'test', 'production']) {
      const error = failure({ ...PRODUCTION, NODE_ENV: nodeEnv, JWT_SECRET: undefined });
      expect(error.variable).toBe('JWT_SECRET');
      expect(error.message).toContain('no built-in secret');
    }
    expect(loadAppConfig(PRODUCTION).jwt).toMatchObject({ secret: SECRET_32, algorithms: ['HS256'] });
    const { publicKey } = ecKeys('P-256');
    expect(loadAppConfig({ ...PRODUCTION, JWT_SECRET: undefined, JWT_PUBLIC_KEY: publicKey, JWT_AUDIENCE: 'ers' }).jwt.algorithms).toEqual([
      'ES256',
    ]);
  });

  it('requires an audience with an identity provider key or JWKS, and accepts a JWKS on https or loopback http', () => {
    const { publicKey } = ecKeys('P-256');
    expect(failure({ ...BASE, JWT_PUBLIC_KEY: publicKey }).variable).toBe('JWT_AUDIENCE');
    expect(
      failure({ ...BASE, JWT_JWKS_URL: 'https://idp.example.com/jwks', JWT_PUBLIC_KEY: publicKey, JWT_AUDIENCE: 'ers' }).variable,
    ).toBe('JWT_JWKS_URL');
    for (const jwksUrl of ['https://idp.example.com/.well-known/jwks.json', 'http://127.0.0.1:8080/jwks', 'http://localhost/jwks']) {
      const jwt = loadAppConfig({ ...BASE, JWT_JWKS_URL: jwksUrl, JWT_AUDIENCE: 'ers', JWT_MAX_TTL_SECONDS: '3600' }).jwt;
      expect(jwt).toMatchObject({ jwksUrl, audience: 'ers', algorithms: ['RS256', 'ES256'], maxTtlSeconds: 3600 });
      expect(jwt.secret).toBeUndefined();
    }
  });

  it('closes /metrics in production unless METRICS_TOKEN is set or METRICS_PUBLIC=true says it is open on purpose', () => {
    expect(failure({ ...PRODUCTION, METRICS_TOKEN: undefined }).message).toContain('METRICS_TOKEN is required in production');
    expect(loadAppConfig({ ...PRODUCTION, METRICS_TOKEN: undefined, METRICS_PUBLIC: 'true' }).metricsPublic).toBe(true);
    expect(loadAppConfig(PRODUCTION).metricsToken).toBe('metrics-token');
    expect(loadAppConfig({ ...BASE, METRICS_TOKEN: undefined }).metricsToken).toBeUndefined();
  });

  it('accepts a production webhook with a long secret over https, a loopback http or an explicit WEBHOOK_ALLOW_HTTP', () => {
    const production = { ...PRODUCTION, WEBHOOK_SECRET: SECRET_32 };
    for (const url of ['https://hooks.example.com/x', 'http://127.0.0.1:8080/x', 'http://localhost/x', 'http://[::1]:9000/x']) {
      expect(loadAppConfig({ ...production, WEBHOOK_URL: url }).webhook.url).toBe(url);
    }
    expect(loadAppConfig({ ...production, WEBHOOK_URL: 'http://hooks.internal/x', WEBHOOK_ALLOW_HTTP: 'true' }).webhook.url).toBe(
      'http://hooks.internal/x',
    );
    expect(
      loadAppConfig({
        ...production,
        WEBHOOK_SECRET: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
        WEBHOOK_URL: 'https://h.example.com',
      }).webhook.secret,
    ).toMatch(/^whsec_/);
    // Outside production a short secret and plain http stay allowed, for local receivers.
    expect(loadAppConfig({ ...BASE, WEBHOOK_URL: 'http://hooks.example.com/x', WEBHOOK_SECRET: 's' }).webhook.secret).toBe('s');
  });

  it('reads AUDIT_HMAC_KEY as the sealing key, then retired keys, then optionally "unkeyed"', () => {
    const [current, retired] = ['c'.repeat(32), 'r'.repeat(40)];
    expect(loadAppConfig(BASE).auditChain).toEqual({ keys: [], acceptsUnkeyed: true });
    expect(loadAppConfig({ ...BASE, AUDIT_HMAC_KEY: current }).auditChain).toEqual({ keys: [current], acceptsUnkeyed: false });
    expect(loadAppConfig({ ...BASE, AUDIT_HMAC_KEY: `${current}, ${retired},unkeyed` }).auditChain).toEqual({
      keys: [current, retired],
      acceptsUnkeyed: true,
    });
  });

  it('pins RS256 for an RSA key and ES256 for a P-256 key, accepting escaped newlines', () => {
    const rsa = rsaKeys(2048).publicKey;
    const rsaConfig = loadAppConfig({ ...BASE, JWT_PUBLIC_KEY: rsa, JWT_ISSUER: 'idp', JWT_AUDIENCE: 'ers' }).jwt;
    expect(rsaConfig).toMatchObject({ algorithms: ['RS256'], issuer: 'idp', audience: 'ers' });
    expect(rsaConfig.secret).toBeUndefined();
    expect(rsaConfig.publicKey).toContain('BEGIN PUBLIC KEY');
    const ec = ecKeys('P-256').publicKey;
    expect(loadAppConfig({ ...BASE, JWT_PUBLIC_KEY: ec.replaceAll('\n', '\\n'), JWT_AUDIENCE: 'ers' }).jwt.algorithms).toEqual(['ES256']);
  });

  it('refuses keys that do not fit RS256 or ES256, and private keys', () => {
    const cases: [string, string][] = [
      [ecKeys('P-384').publicKey, 'secp384r1'],
      [ed25519Keys().publicKey, 'ed25519'],
      [rsaKeys(1024).publicKey, 'at least 2048 bits'],
      [ecKeys('P-256').privateKey, 'not a private key'],
    ];
    for (const [key, message] of cases) {
      const error = failure({ ...BASE, JWT_PUBLIC_KEY: key, JWT_AUDIENCE: 'ers' });
      expect(error.variable).toBe('JWT_PUBLIC_KEY');
      expect(error.message).toContain(message);
    }
  });

  it('names prepared statements unless DATABASE_URL is a pooler, and lets DATABASE_PREPARED_STATEMENTS decide', () => {
    const pooler = { ...BASE, DATABASE_URL: 'postgresql://app@127.0.0.1:6432/ers', DATABASE_DIRECT_URL: BASE.DATABASE_URL };
    expect(loadAppConfig(BASE).databasePreparedStatements).toBe(true);
    expect(loadAppConfig(pooler).databasePreparedStatements).toBe(false);
    expect(loadAppConfig({ ...pooler, DATABASE_PREPARED_STATEMENTS: 'true' }).databasePreparedStatements).toBe(true);
    expect(loadAppConfig({ ...BASE, DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements).toBe(false);
  });
});
