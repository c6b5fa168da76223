// `npm run token -- --role admin [--role engineer,service] [--sub id] [--ttl 1h]`
//
// Prints a token the service accepts when it verifies HS256 tokens: signed with JWT_SECRET from the
// environment (outside production, the same development secret the service falls back to),
// carrying JWT_ISSUER / JWT_AUDIENCE when they are set. For local use and tests only.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import jwt from 'jsonwebtoken';

const ROLES = ['admin', 'engineer', 'service'];
const MIN_SECRET_LENGTH = 32;
const TTL_PATTERN = /^[1-9][0-9]*[smhd]$/;
const USAGE = `Usage: npm run token -- --role <admin|engineer|service> [--role …] [--sub <id>] [--ttl <n>s|m|h|d]

  --role  repeatable, or a comma list (a token with several roles has the union of their permissions)
  --sub   the subject; for the engineer role, the engineer's id (required then). Default: local-<first role>
  --ttl   lifetime, e.g. 90s, 15m, 1h (default), 7d

Signs HS256 with JWT_SECRET (outside production, the service's development secret when unset) and
sets iss/aud from JWT_ISSUER / JWT_AUDIENCE when they are set.`;

class UsageError extends Error {}

/**
 * The service's fallback secret lives in one place, libs/config/src/app-config.ts; reading it from
 * there keeps the two from drifting apart (tools/token.test.ts checks that they agree).
 */
function developmentSecret() {
  const configSource = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'libs', 'config', 'src', 'app-config.ts');
  const match = /export const DEVELOPMENT_JWT_SECRET = '([^']+)';/.exec(readFileSync(configSource, 'utf8'));
  if (!match) throw new Error(`DEVELOPMENT_JWT_SECRET not found in ${configSource}`);
  return match[1];
}

function signingSecret(env) {
  if (env.JWT_PUBLIC_KEY?.trim()) {
    throw new UsageError('JWT_PUBLIC_KEY is set: the service then accepts only RS256/ES256 tokens from your identity provider, not HS256 ones');
  }
  const secret = env.JWT_SECRET?.trim() || undefined;
  if (secret === undefined) {
    if (env.NODE_ENV?.trim() === 'production') throw new UsageError('JWT_SECRET is required in production');
    return developmentSecret();
  }
  if (secret.length < MIN_SECRET_LENGTH) throw new UsageError(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  return secret;
}

function mintToken(argv, env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { role: { type: 'string', multiple: true }, sub: { type: 'string' }, ttl: { type: 'string', default: '1h' }, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (values.help) throw new UsageError('');
  const roles = [...new Set((values.role ?? []).flatMap((value) => value.split(',')).map((role) => role.trim()).filter(Boolean))];
  if (roles.length === 0) throw new UsageError('at least one --role is required');
  const unknown = roles.filter((role) => !ROLES.includes(role));
  if (unknown.length > 0) throw new UsageError(`unknown role(s): ${unknown.join(', ')} (expected ${ROLES.join(', ')})`);
  if (!TTL_PATTERN.test(values.ttl)) throw new UsageError(`--ttl must look like 90s, 15m, 1h or 7d, got "${values.ttl}"`);
  const sub = values.sub?.trim() ?? (roles.includes('engineer') ? '' : `local-${roles[0]}`);
  if (sub === '') throw new UsageError(roles.includes('engineer') ? '--sub <engineer id> is required for the engineer role' : '--sub must not be empty');

  const options = { algorithm: 'HS256', expiresIn: values.ttl };
  if (env.JWT_ISSUER?.trim()) options.issuer = env.JWT_ISSUER.trim();
  if (env.JWT_AUDIENCE?.trim()) options.audience = env.JWT_AUDIENCE.trim();
  return jwt.sign({ sub, roles }, signingSecret(env), options);
}

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
