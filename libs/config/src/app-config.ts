import { createPublicKey, type KeyObject } from 'node:crypto';

/** One value per review priority (the database's review_priority enum, which config does not import). */
export interface PerPriority {
  critical: number;
  high: number;
  normal: number;
  low: number;
}

export interface AppConfig {
  nodeEnv: 'development' | 'test' | 'production';
  host: string;
  port: number;
  /** Undefined means "serve on the embedded PostgreSQL" (development only, see scripts/start.mjs). */
  databaseUrl: string;
  /**
   * A direct connection for what a transaction-mode pooler cannot carry: migrations, LISTEN/NOTIFY
   * consumers and session-level locks. DATABASE_URL when DATABASE_DIRECT_URL is unset.
   */
  databaseDirectUrl: string;
  databasePoolMax: number;
  /**
   * Named prepared statements (parsed and planned once per connection). Only where every pool
   * connection is a session of its own: not behind a transaction-mode pooler, not on the embedded
   * database (one shared session).
   */
  databasePreparedStatements: boolean;
  /** Longest wait for a row lock in any statement; past it the request is a 503. */
  lockTimeoutMs: number;
  /** How long an idempotency claim outlives its last renewal (the replica died): a retry then acts afresh. */
  idempotencyLeaseSeconds: number;
  migrateOnStart: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** On SIGTERM, readiness turns 503 at once and the replica keeps serving this long before it stops accepting. */
  shutdownDelaySeconds: number;
  jwt: {
    /** Exactly one of secret, publicKey and jwksUrl is set. */
    secret?: string;
    publicKey?: string;
    jwksUrl?: string;
    algorithms: string[];
    issuer?: string;
    audience?: string;
    /** A token whose exp lies further in the future than this is refused. */
    maxTtlSeconds: number;
  };
  allowedEmailDomains: string[] | null;
  /** Per review priority (the database's review_priority enum). */
  slaSeconds: PerPriority;
  escalation: {
    schedulerEnabled: boolean;
    intervalSeconds: number;
    /** Undefined: half of the priority's SLA. */
    level2AfterSeconds?: number;
    autoReassign: boolean;
    batchSize: number;
  };
  decisionSlaSeconds: number;
  decisions: {
    /** Distinct admins who must choose the same value before a review of that priority is decided. */
    approvals: PerPriority;
    /** What the scheduler decides for a review still undecided DECISION_SLA_SECONDS after submission. */
    deadlineAction: 'none' | 'engineer_approach' | 'ai_approach';
  };
  /** How long review events stay replayable on GET /api/v1/events. */
  eventRetentionHours: number;
  webhook: {
    url?: string;
    secret?: string;
    /** false: this replica records events but leaves their delivery to other replicas. */
    deliveryEnabled: boolean;
    /** A 2xx within this time is a delivery (contract: 10 s; shorter only in tests). */
    timeoutMs: number;
    /** First retry delay; each further failure doubles it, up to 10 min. */
    backoffBaseMs: number;
    /** How long a delivered event stays in the outbox (GET /api/v1/webhooks/events) after its delivery. */
    deliveredRetentionHours: number;
  };
  assignRateLimit: { limit: number; windowSeconds: number };
  redisUrl?: string;
  metricsToken?: string;
  /** /metrics without a token, stated on purpose (it lists engineer ids). */
  metricsPublic: boolean;
  /** AUDIT_HMAC_KEY: the first key seals, the retired ones after it only verify; none: unkeyed chain. */
  auditChain: { keys: string[]; acceptsUnkeyed: boolean };
  /** The console's sign-in (authorization code with PKCE); both set or neither. */
  oidc: { issuer?: string; clientId?: string };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

export const MIN_JWT_SECRET_LENGTH = 32;
const MIN_RSA_MODULUS_BITS = 2048;

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(name, `must be "true" or "false", got "${raw}"`);
  return raw === 'true';
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use one of ${protocols.join(', ')}`);
  }
  return raw;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = optional(env, name) ?? fallback;
  if (!values.includes(raw as T)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}

/**
 * The one algorithm tokens may use is fixed by the key: RS256 for an RSA key, ES256 for a P-256 EC
 * key. Anything else is refused at boot rather than guessed at verification time.
 */
function publicKeyAlgorithm(pem: string): { publicKey: string; algorithm: 'RS256' | 'ES256' } {
  if (!pem.includes('-----BEGIN')) throw new ConfigError('JWT_PUBLIC_KEY', 'must be a PEM public key');
  if (pem.includes('PRIVATE KEY')) throw new ConfigError('JWT_PUBLIC_KEY', 'must be a public key, not a private key');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ConfigError('JWT_PUBLIC_KEY', 'is not a readable PEM public key');
  }
  const publicKey = key.export({ type: 'spki', format: 'pem' }).toString();
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) {
      throw new ConfigError('JWT_PUBLIC_KEY', `must be an RSA key of at least ${MIN_RSA_MODULUS_BITS} bits`);
    }
    return { publicKey, algorithm: 'RS256' };
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') return { publicKey, algorithm: 'ES256' };
  throw new ConfigError(
    'JWT_PUBLIC_KEY',
    `must be an RSA key (RS256) or a P-256 EC key (ES256), got ${key.asymmetricKeyType ?? 'unknown'}${details.namedCurve ? ` ${details.namedCurve}` : ''}`,
  );
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** Keys fetched over plain HTTP could be swapped on the way: only a loopback JWKS may use it. */
function jwksUrl(env: Env): string | undefined {
  const raw = url(env, 'JWT_JWKS_URL', ['https:', 'http:']);
  if (raw !== undefined && new URL(raw).protocol === 'http:' && !isLoopback(new URL(raw).hostname)) {
    throw new ConfigError('JWT_JWKS_URL', 'must use https: (http: only for a loopback address)');
  }
  return raw;
}

/**
 * There is no built-in secret: `npm start` (trying the service out) passes a development secret in
 * JWT_SECRET itself, and the built service refuses to start without a way to verify tokens. With an
 * identity provider's key, the audience is required so that tokens it issued for other applications
 * do not pass.
 */
function jwtConfig(env: Env): AppConfig['jwt'] {
  const publicKeyPem = optional(env, 'JWT_PUBLIC_KEY')?.replaceAll('\\n', '\n');
  const jwks = jwksUrl(env);
  const secret = optional(env, 'JWT_SECRET');
  const issuer = optional(env, 'JWT_ISSUER');
  const audience = optional(env, 'JWT_AUDIENCE');
  const maxTtlSeconds = jwtMaxTtlSecondsFrom(env);
  if (publicKeyPem && jwks) throw new ConfigError('JWT_JWKS_URL', 'and JWT_PUBLIC_KEY are exclusive: set one of them');
  const key = publicKeyPem ? publicKeyAlgorithm(publicKeyPem) : undefined;
  if ((key || jwks) && !audience) {
    throw new ConfigError(
      'JWT_AUDIENCE',
      `is required with ${jwks ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY'} (tokens issued for other applications must not pass)`,
    );
  }
  if (jwks) return { jwksUrl: jwks, algorithms: ['RS256', 'ES256'], issuer, audience, maxTtlSeconds };
  if (key) return { publicKey: key.publicKey, algorithms: [key.algorithm], issuer, audience, maxTtlSeconds };
  if (secret === undefined) {
    throw new ConfigError(
      'JWT_SECRET',
      'is required (or JWT_PUBLIC_KEY, or JWT_JWKS_URL): the service has no built-in secret; `npm start` provides a development one',
    );
  }
  if (secret.length < MIN_JWT_SECRET_LENGTH) throw new ConfigError('JWT_SECRET', `must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  return { secret, algorithms: ['HS256'], issuer, audience, maxTtlSeconds };
}

/** Engineer ids are on /metrics: in production it is closed unless opened on purpose. */
function oidcConfig(env: Env): AppConfig['oidc'] {
  const issuer = url(env, 'OIDC_ISSUER', ['https:', 'http:']);
  const clientId = optional(env, 'OIDC_CLIENT_ID');
  if (issuer && !clientId) throw new ConfigError('OIDC_CLIENT_ID', 'is required when OIDC_ISSUER is set');
  if (clientId && !issuer) throw new ConfigError('OIDC_ISSUER', 'is required when OIDC_CLIENT_ID is set');
  return { issuer, clientId };
}

function metricsAccess(env: Env, nodeEnv: AppConfig['nodeEnv']): { metricsToken?: string; metricsPublic: boolean } {
  const metricsToken = optional(env, 'METRICS_TOKEN');
  const metricsPublic = boolean(env, 'METRICS_PUBLIC', false);
  if (nodeEnv === 'production' && !metricsToken && !metricsPublic) {
    throw new ConfigError(
      'METRICS_TOKEN',
      'is required in production (or METRICS_PUBLIC=true for an intentionally open /metrics, which lists engineer ids)',
    );
  }
  return { metricsToken, metricsPublic };
}

/** JWT_MAX_TTL_SECONDS: the longest lifetime a token may have (default 1 d); `npm run token` mints within it. */
export function jwtMaxTtlSecondsFrom(env: Env): number {
  return integer(env, 'JWT_MAX_TTL_SECONDS', 86_400, 60, 31 * 86_400);
}

export function databaseUrlFrom(env: Env): string {
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  if (!databaseUrl)
    throw new ConfigError('DATABASE_URL', 'is required (npm start and npm run start:prod provide an embedded database when it is unset)');
  return databaseUrl;
}

export function slaSecondsFrom(env: Env): AppConfig['slaSeconds'] {
  return {
    critical: integer(env, 'SLA_CRITICAL_SECONDS', 3600, 1),
    high: integer(env, 'SLA_HIGH_SECONDS', 14400, 1),
    normal: integer(env, 'SLA_NORMAL_SECONDS', 86400, 1),
    low: integer(env, 'SLA_LOW_SECONDS', 259200, 1),
  };
}

/** Reads and validates the environment once at boot; any problem names the variable and stops the process. */
export function loadAppConfig(env: Env = process.env): AppConfig {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const databaseUrl = databaseUrlFrom(env);
  const level2 = optional(env, 'ESCALATION_LEVEL2_AFTER_SECONDS');
  const allowedDomains = optional(env, 'ALLOWED_EMAIL_DOMAINS');
  const domains =
    allowedDomains
      ?.split(',')
      .map((domain) => domain.trim().toLowerCase())
      .filter(Boolean) ?? null;
  if (domains && domains.some((domain) => !/^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain))) {
    throw new ConfigError('ALLOWED_EMAIL_DOMAINS', 'must be a comma-separated list of domain names');
  }
  const webhookUrl = url(env, 'WEBHOOK_URL', ['http:', 'https:']);
  const webhookSecret = optional(env, 'WEBHOOK_SECRET');
  checkWebhookTarget(env, nodeEnv, webhookUrl, webhookSecret);
  const auditChain = auditChainKeys(env);
  const databaseDirectUrl = url(env, 'DATABASE_DIRECT_URL', ['postgres:', 'postgresql:']) ?? databaseUrl;
  return {
    nodeEnv,
    host: optional(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', 3000, 0, 65535),
    databaseUrl,
    databaseDirectUrl,
    databasePoolMax: integer(env, 'DATABASE_POOL_MAX', 10, 1, 500),
    databasePreparedStatements: boolean(env, 'DATABASE_PREPARED_STATEMENTS', databaseDirectUrl === databaseUrl),
    lockTimeoutMs: integer(env, 'LOCK_TIMEOUT_MS', 5_000, 1, 600_000),
    idempotencyLeaseSeconds: integer(env, 'IDEMPOTENCY_LEASE_SECONDS', 30, 3, 60),
    migrateOnStart: boolean(env, 'MIGRATE_ON_START', false),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    shutdownDelaySeconds: integer(env, 'SHUTDOWN_DELAY_SECONDS', 5, 0, 300),
    jwt: jwtConfig(env),
    allowedEmailDomains: domains && domains.length > 0 ? domains : null,
    slaSeconds: slaSecondsFrom(env),
    escalation: {
      schedulerEnabled: boolean(env, 'SCHEDULER_ENABLED', true),
      intervalSeconds: integer(env, 'ESCALATION_INTERVAL_SECONDS', 60, 1),
      level2AfterSeconds: level2 === undefined ? undefined : integer(env, 'ESCALATION_LEVEL2_AFTER_SECONDS', 0, 0),
      autoReassign: boolean(env, 'ESCALATION_AUTO_REASSIGN', false),
      batchSize: integer(env, 'ESCALATION_BATCH_SIZE', 200, 1, 10000),
    },
    decisionSlaSeconds: integer(env, 'DECISION_SLA_SECONDS', 3600, 1),
    decisions: {
      approvals: {
        critical: integer(env, 'DECISION_APPROVALS_CRITICAL', 1, 1, 3),
        high: integer(env, 'DECISION_APPROVALS_HIGH', 1, 1, 3),
        normal: integer(env, 'DECISION_APPROVALS_NORMAL', 1, 1, 3),
        low: integer(env, 'DECISION_APPROVALS_LOW', 1, 1, 3),
      },
      deadlineAction: oneOf(env, 'DECISION_DEADLINE_ACTION', ['none', 'engineer_approach', 'ai_approach'] as const, 'none'),
    },
    eventRetentionHours: integer(env, 'EVENT_RETENTION_HOURS', 168, 1, 87_600),
    webhook: {
      url: webhookUrl,
      secret: webhookSecret,
      deliveryEnabled: boolean(env, 'WEBHOOK_DELIVERY_ENABLED', true),
      timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
      backoffBaseMs: integer(env, 'WEBHOOK_BACKOFF_BASE_MS', 1_000, 10, 600_000),
      deliveredRetentionHours: integer(env, 'WEBHOOK_RETENTION_HOURS', 168, 1, 87_600),
    },
    assignRateLimit: {
      limit: integer(env, 'ASSIGN_RATE_LIMIT', 60, 1),
      windowSeconds: integer(env, 'ASSIGN_RATE_WINDOW_SECONDS', 60, 1),
    },
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    ...metricsAccess(env, nodeEnv),
    auditChain,
    oidc: oidcConfig(env),
  };
}

const MIN_WEBHOOK_SECRET_LENGTH = 32;
const MIN_AUDIT_KEY_LENGTH = 32;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** In production a short secret or a plain-http receiver beyond this host would expose the events. */
function checkWebhookTarget(env: Env, nodeEnv: AppConfig['nodeEnv'], webhookUrl: string | undefined, secret: string | undefined): void {
  const allowHttp = boolean(env, 'WEBHOOK_ALLOW_HTTP', false);
  if (!webhookUrl) return;
  if (!secret) throw new ConfigError('WEBHOOK_SECRET', 'is required when WEBHOOK_URL is set');
  if (secret.startsWith('whsec_') && !(secret.length > 'whsec_'.length && BASE64.test(secret.slice('whsec_'.length)))) {
    throw new ConfigError('WEBHOOK_SECRET', 'written whsec_<key> must carry the key in base64');
  }
  if (nodeEnv !== 'production') return;
  if (secret.length < MIN_WEBHOOK_SECRET_LENGTH)
    throw new ConfigError('WEBHOOK_SECRET', `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters in production`);
  if (new URL(webhookUrl).protocol === 'http:' && !isLoopback(new URL(webhookUrl).hostname) && !allowHttp) {
    throw new ConfigError('WEBHOOK_URL', 'must use https: in production unless its host is a loopback address or WEBHOOK_ALLOW_HTTP=true');
  }
}

/**
 * AUDIT_HMAC_KEY is `current[,retired…][,unkeyed]`, newest first (docs/audit.md, "Rotating the key").
 * Exported for the offline verifier, which reads the same variable.
 */
export function auditChainKeys(env: Env): AppConfig['auditChain'] {
  const raw = optional(env, 'AUDIT_HMAC_KEY');
  if (raw === undefined) return { keys: [], acceptsUnkeyed: true };
  const items = raw.split(',').map((item) => item.trim());
  const acceptsUnkeyed = items.at(-1) === 'unkeyed';
  const keys = acceptsUnkeyed ? items.slice(0, -1) : items;
  if (keys.length === 0 || keys.some((key) => key.length < MIN_AUDIT_KEY_LENGTH)) {
    throw new ConfigError(
      'AUDIT_HMAC_KEY',
      `must be at least ${MIN_AUDIT_KEY_LENGTH} characters (each key of the comma list; "unkeyed" only last)`,
    );
  }
  return { keys, acceptsUnkeyed };
}
