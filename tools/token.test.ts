import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';

import { developmentJwtSecret } from '../scripts/development-secret.mjs';
import { mintToken, UsageError } from './token.js';

const SCRIPT = path.join(import.meta.dirname, 'token.ts');
const SECRET = 'a-configured-secret-of-at-least-32-chars';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the script as `npm run token` does, with only the given variables (plus PATH). */
async function runToken(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', '@swc-node/register/esm-register', SCRIPT, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function claims(token: string, secret: string, options: jwt.VerifyOptions = {}): jwt.JwtPayload {
  return jwt.verify(token, secret, { algorithms: ['HS256'], ...options }) as jwt.JwtPayload;
}

describe('npm run token', () => {
  it('signs with the development secret that npm start gives the service', async () => {
    const { code, stdout } = await runToken(['--role', 'admin']);
    expect(code).toBe(0);
    const payload = claims(stdout.trim(), developmentJwtSecret());
    expect(payload).toMatchObject({ sub: 'local-admin', roles: ['admin'] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('takes repeated and comma-separated roles, sub, ttl, JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE', async () => {
    const env = { JWT_SECRET: SECRET, JWT_ISSUER: 'https://idp.example.com', JWT_AUDIENCE: 'engineer-review' };
    const { code, stdout } = await runToken(['--role', 'engineer,service', '--role', 'admin', '--sub', 'eng-7', '--ttl', '15m'], env);
    expect(code).toBe(0);
    const payload = claims(stdout.trim(), SECRET, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
    expect(payload).toMatchObject({ sub: 'eng-7', roles: ['engineer', 'service', 'admin'], iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
  });

  it('refuses with the usage text and exit code 2', async () => {
    const { code, stdout, stderr } = await runToken(['--role', 'root']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('token: unknown role(s): root');
    expect(stderr).toContain('Usage: npm run token');
  });

  // The refusals themselves, in process: each run of the script loads the TypeScript loader.
  it.each([
    [['--role', 'root'], {}, 'unknown role(s): root'],
    [[], {}, 'at least one --role is required'],
    [['--role', 'engineer'], {}, '--sub <engineer id> is required'],
    [['--role', 'admin', '--ttl', 'forever'], {}, '--ttl must look like'],
    [['--role', 'admin', '--rol', 'x'], {}, "Unknown option '--rol'"],
    [['--role', 'admin'], { NODE_ENV: 'production' }, 'JWT_SECRET is required in production'],
    [['--role', 'admin'], { JWT_SECRET: 'too-short' }, 'at least 32 characters'],
    [['--role', 'admin'], { JWT_SECRET: SECRET, JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----' }, 'JWT_PUBLIC_KEY is set'],
    [['--role', 'admin'], { JWT_JWKS_URL: 'https://idp.example.com/jwks' }, 'JWT_JWKS_URL is set'],
    [['--role', 'admin', '--ttl', '2d'], {}, 'longer than the service accepts (JWT_MAX_TTL_SECONDS = 86400 s)'],
    [['--role', 'admin', '--ttl', '2h'], { JWT_MAX_TTL_SECONDS: '3600' }, 'JWT_MAX_TTL_SECONDS = 3600 s'],
  ] as [string[], Record<string, string>, string][])('refuses %j %j with a usage error', (args, env, message) => {
    expect(() => mintToken(args, env)).toThrow(UsageError);
    expect(() => mintToken(args, env)).toThrow(message);
  });
});
