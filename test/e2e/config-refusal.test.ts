import { execFile } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

// The service process itself refuses an unsafe configuration at start, naming the variable: the real
// start script, as an operator runs it. Nothing is listened on and no database is reached.

const root = path.resolve(import.meta.dirname, '../..');
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/never_reached',
  JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
  PORT: '0',
  HOST: '127.0.0.1',
};

function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['scripts/start.mjs'], { cwd: root, env: { PATH: process.env.PATH, ...PRODUCTION, ...env }, timeout: 120_000 }, (_error, _stdout, stderr) =>
      resolve({ code: child.exitCode, stderr }),
    );
  });
}

describe('the service refuses to start', () => {
  it.each([
    ['WEBHOOK_SECRET', { WEBHOOK_URL: 'https://hooks.example.com/x', WEBHOOK_SECRET: 'x' }],
    ['WEBHOOK_URL', { WEBHOOK_URL: 'http://hooks.example.com/x', WEBHOOK_SECRET: 's'.repeat(32) }],
    ['AUDIT_HMAC_KEY', { AUDIT_HMAC_KEY: 'too-short' }],
  ])('in production with an unsafe %s, naming it', async (variable, env) => {
    const result = await start(env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Invalid configuration: ${variable}`);
  }, 130_000);
});
