// `npm run token -- --role admin [--role engineer,service] [--sub id] [--ttl 1h]`
//
// Prints a token the service accepts when it verifies HS256 tokens: signed with JWT_SECRET from the
// environment (unset and outside production: the development secret `npm start` gives the service),
// carrying JWT_ISSUER / JWT_AUDIENCE when they are set. For local use and tests only.
//
// The roles, the minimum secret length and JWT_MAX_TTL_SECONDS come from the service's own code, so
// the script cannot mint a token the service would refuse for a rule that changed there.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import jwt from 'jsonwebtoken';

import { ROLES } from '../libs/auth/src/permissions.js';
import { ConfigError, jwtMaxTtlSecondsFrom, MIN_JWT_SECRET_LENGTH } from '../libs/config/src/app-config.js';
import { developmentJwtSecret } from '../scripts/development-secret.mjs';

type Env = Record<string, string | undefined>;

const TTL_PATTERN = /^[1-9][0-9]*[smhd]$/;
const USAGE = `Usage: npm run token -- --role <admin|engineer|service> [--role …] [--sub <id>] [--ttl <n>s|m|h|d]

  --role  repeatable, or a comma list (a token with several roles has the union of their permissions)
  --sub   the subject; for the engineer role, the engineer's id (required then). Default: local-<first role>
  --ttl   lifetime, e.g. 90s, 15m, 1h (default), 1d; at most JWT_MAX_TTL_SECONDS (default 1 d)

Signs HS256 with JWT_SECRET (unset and outside production: the development secret of npm start) and
sets iss/aud from JWT_ISSUER / JWT_AUDIENCE when they are set.`;

const TTL_UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A request the script refuses: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

function ttlSeconds(ttl: string): number {
  return Number(ttl.slice(0, -1)) * TTL_UNIT_SECONDS[ttl.at(-1)!]!;
}

function signingSecret(env: Env): string {
  const keyVariable = ['JWT_PUBLIC_KEY', 'JWT_JWKS_URL'].find((name) => env[name]?.trim());
  if (keyVariable) {
    throw new UsageError(
      `${keyVariable} is set: the service then accepts only RS256/ES256 tokens from your identity provider, not HS256 ones`,
    );
  }
  const secret = env.JWT_SECRET?.trim() || undefined;
  if (secret === undefined) {
    if (env.NODE_ENV?.trim() === 'production') throw new UsageError('JWT_SECRET is required in production');
    return developmentJwtSecret();
  }
  if (secret.length < MIN_JWT_SECRET_LENGTH) throw new UsageError(`JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  return secret;
}

function maxTtlSeconds(env: Env): number {
  try {
    return jwtMaxTtlSecondsFrom(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

export function mintToken(argv: string[], env: Env): string {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        role: { type: 'string', multiple: true },
        sub: { type: 'string' },
        ttl: { type: 'string', default: '1h' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) throw new UsageError('');
  const roles = [
    ...new Set(
      (values.role ?? [])
        .flatMap((value) => value.split(','))
        .map((role) => role.trim())
        .filter(Boolean),
    ),
  ];
  if (roles.length === 0) throw new UsageError('at least one --role is required');
  const known: readonly string[] = ROLES;
  const unknown = roles.filter((role) => !known.includes(role));
  if (unknown.length > 0) throw new UsageError(`unknown role(s): ${unknown.join(', ')} (expected ${ROLES.join(', ')})`);
  const ttl = values.ttl;
  if (!TTL_PATTERN.test(ttl)) throw new UsageError(`--ttl must look like 90s, 15m, 1h or 7d, got "${ttl}"`);
  const maxSeconds = maxTtlSeconds(env);
  if (ttlSeconds(ttl) > maxSeconds) {
    throw new UsageError(`--ttl ${ttl} is longer than the service accepts (JWT_MAX_TTL_SECONDS = ${maxSeconds} s)`);
  }
  const sub = values.sub?.trim() ?? (roles.includes('engineer') ? '' : `local-${roles[0]}`);
  if (sub === '')
    throw new UsageError(roles.includes('engineer') ? '--sub <engineer id> is required for the engineer role' : '--sub must not be empty');

  const options: jwt.SignOptions = { algorithm: 'HS256', expiresIn: ttl as jwt.SignOptions['expiresIn'] };
  if (env.JWT_ISSUER?.trim()) options.issuer = env.JWT_ISSUER.trim();
  if (env.JWT_AUDIENCE?.trim()) options.audience = env.JWT_AUDIENCE.trim();
  return jwt.sign({ sub, roles }, signingSecret(env), options);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${mintToken(process.argv.slice(2), process.env)}\n`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message === '') {
      console.info(USAGE);
    } else {
      console.error(`token: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
    }
  }
}
