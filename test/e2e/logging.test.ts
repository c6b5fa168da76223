import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { cloneTemplate, databaseUrl, dropDatabase } from '../support/database.js';
import { adminToken, engineerToken, TEST_JWT_SECRET } from '../support/test-app.js';

// The logs as production writes them: the service runs as its own process (nestjs-pino's logger
// is per process, and pino writes straight to file descriptor 1), and its stdout is read here.

const root = path.resolve(import.meta.dirname, '../..');
/** Compiling the sources at start takes 5–10 s idle, much longer on a loaded 2-core machine. */
const READY_WITHIN_MS = 120_000;

interface AccessLine {
  level: number;
  msg: string;
  requestId?: string;
  method?: string;
  url?: string;
  route?: string;
  statusCode?: number;
  responseTime?: number;
  sub?: string;
}

describe('request logs', () => {
  const output: string[] = [];
  let child: ChildProcess;
  let databaseName: string;
  let baseUrl: string;

  beforeAll(async () => {
    databaseName = await cloneTemplate(inject('templateDatabase'));
    child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'apps/api/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: databaseUrl(databaseName),
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'info',
        SCHEDULER_ENABLED: 'false',
        HOST: '127.0.0.1',
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout!, child.stderr!])
      readline.createInterface({ input: stream }).on('line', (line) => output.push(line));
    const deadline = Date.now() + READY_WITHIN_MS;
    while (!baseUrl) {
      if (child.exitCode !== null) throw new Error(`The service exited with ${child.exitCode}:\n${output.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`The service did not start within ${READY_WITHIN_MS / 1000} s:\n${output.join('\n')}`);
      const listening = output.map((line) => /listening on ([\d.]+:\d+)/.exec(line)?.[1]).find(Boolean);
      if (listening) baseUrl = `http://${listening}`;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, READY_WITHIN_MS + 10_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (databaseName) await dropDatabase(databaseName);
  });

  /** The access lines of one request, waiting briefly for them to be written. */
  async function linesOf(requestId: string, expected = 1): Promise<AccessLine[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const lines = output
        .filter((line) => line.includes(requestId))
        .map((line) => JSON.parse(line) as AccessLine)
        .filter((line) => line.msg === 'request completed');
      if (lines.length >= expected || Date.now() > deadline) return lines;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('writes one JSON line per request with request id, route template, status, duration and sub', async () => {
    const token = adminToken('ops-admin');
    const res = await fetch(`${baseUrl}/api/v1/engineers?page=1`, {
      headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'log-ok-1' },
    });
    expect(res.status).toBe(200);
    const lines = await linesOf('log-ok-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      requestId: 'log-ok-1',
      method: 'GET',
      url: '/api/v1/engineers?page=1',
      route: '/api/v1/engineers',
      statusCode: 200,
      sub: 'ops-admin',
    });
    expect(lines[0]!.responseTime).toBeGreaterThan(0);
  });

  it('logs refused bodies and unknown paths, at warn level, with their template or "unmatched"', async () => {
    const unsupported = await fetch(`${baseUrl}/api/v1/engineers`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken()}`, 'Content-Type': 'text/plain', 'X-Request-Id': 'log-415' },
      body: 'x',
    });
    expect(unsupported.status).toBe(415);
    const unknown = await fetch(`${baseUrl}/no/such/path`, { headers: { 'X-Request-Id': 'log-404' } });
    expect(unknown.status).toBe(404);
    expect(await linesOf('log-415')).toEqual([expect.objectContaining({ level: 40, route: '/api/v1/engineers', statusCode: 415 })]);
    expect(await linesOf('log-404')).toEqual([expect.objectContaining({ level: 40, route: 'unmatched', statusCode: 404 })]);
  });

  it('never writes the Authorization header or the token, valid or not', async () => {
    const valid = adminToken('secret-holder');
    const forged = `${valid.slice(0, -6)}AAAAAA`;
    await fetch(`${baseUrl}/api/v1/engineers`, { headers: { Authorization: `Bearer ${valid}`, 'X-Request-Id': 'log-token-valid' } });
    const denied = await fetch(`${baseUrl}/api/v1/engineers`, {
      headers: { Authorization: `Bearer ${forged}`, 'X-Request-Id': 'log-token-forged' },
    });
    expect(denied.status).toBe(401);
    expect(await linesOf('log-token-valid')).toHaveLength(1);
    const [deniedLine] = await linesOf('log-token-forged');
    expect(deniedLine).toMatchObject({ statusCode: 401, route: '/api/v1/engineers' });
    expect(deniedLine!.sub).toBeUndefined();
    const all = output.join('\n');
    for (const secret of [valid, forged, valid.split('.')[2]!, forged.split('.')[2]!]) expect(all).not.toContain(secret);
    expect(all.toLowerCase()).not.toContain('authorization');
  });

  it('warns when a review is submitted without being started (startedAt back-filled), with the request id', async () => {
    const post = async (path: string, token: string, body: unknown, requestId?: string): Promise<Record<string, string>> => {
      const res = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          ...(requestId ? { 'X-Request-Id': requestId } : {}),
        },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, string>;
    };
    const engineer = await post('/api/v1/engineers', adminToken(), { name: 'Skips start', email: `skips-start-${Date.now()}@example.com` });
    const incident = await post('/api/v1/incidents', adminToken(), { title: 'Backfill', severity: 'low', aiProposal: 'Restart' });
    const review = await post('/api/v1/reviews', adminToken(), { incidentId: incident.id, engineerId: engineer.id });
    const submitted = await post(
      `/api/v1/reviews/${review.id}/submit`,
      engineerToken(engineer.id!),
      { approach: 'Restart it' },
      'log-submit-1',
    );
    expect(submitted.startedAt).toBe(review.assignedAt);

    const deadline = Date.now() + 5_000;
    let warning: Record<string, unknown> | undefined;
    while (!warning && Date.now() < deadline) {
      warning = output
        .filter((line) => line.includes(review.id!) && line.includes('without start'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)[0];
      if (!warning) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(warning).toMatchObject({
      level: 40,
      // A line logged while handling a request carries its id.
      reqId: 'log-submit-1',
      reviewId: review.id,
      engineerId: engineer.id,
      msg: expect.stringMatching(/^Review submitted without start/),
    });
  });

  it('does not log successful probes and scrapes', async () => {
    expect((await fetch(`${baseUrl}/health/live`, { headers: { 'X-Request-Id': 'log-probe' } })).status).toBe(200);
    expect((await fetch(`${baseUrl}/metrics`, { headers: { 'X-Request-Id': 'log-scrape' } })).status).toBe(200);
    // A later request's line proves the earlier ones had their chance to be written.
    await fetch(`${baseUrl}/api/v1/nope`, { headers: { 'X-Request-Id': 'log-after-probes' } });
    expect(await linesOf('log-after-probes')).toHaveLength(1);
    expect(output.some((line) => line.includes('log-probe') || line.includes('log-scrape'))).toBe(false);
  });
});
