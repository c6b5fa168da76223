import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import jwt from 'jsonwebtoken';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { shippedMigrations } from '../../apps/api/src/health/migration-status.js';
import { developmentJwtSecret } from '../../scripts/development-secret.mjs';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';
import { freePort } from '../support/ports.js';

// `npm start` on a machine with no database configured: the real script, as a user runs it.

const root = path.resolve(import.meta.dirname, '../..');
/** First start initialises PGlite and migrates: 5–10 s on an idle 2-core machine, over a minute on a loaded one. */
const READY_WITHIN_MS = 180_000;
const STOP_WITHIN_MS = 15_000;

interface LogLine {
  level?: string | number;
  msg?: string;
  dataDir?: string;
  databaseUrl?: string;
  secretFile?: string;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function waitForReady(baseUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output()}`);
    const status = await fetch(`${baseUrl}/health/ready`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`/health/ready did not answer 200 within ${READY_WITHIN_MS / 1000} s:\n${output()}`);
}

describe('npm start without DATABASE_URL', () => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'ers-embedded-')), 'pglite');
  const lines: string[] = [];
  let child: ChildProcess;
  let baseUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      EMBEDDED_DATA_DIR: dataDir,
      EMBEDDED_DATABASE_PORT: '0',
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'development',
    };
    delete env.DATABASE_URL;
    delete env.JWT_SECRET;
    delete env.DATABASE_POOL_MAX;
    delete env.MIGRATE_ON_START;
    // Its own process group, so that a failed run can be cleaned up whole (the service is a child of it).
    child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of [child.stdout!, child.stderr!]) readline.createInterface({ input: stream }).on('line', (line) => lines.push(line));
    await waitForReady(baseUrl, child, () => lines.join('\n'));
  }, READY_WITHIN_MS + 10_000);

  afterAll(() => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  function logged(): LogLine[] {
    return lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
  }

  it('says first that it signs tokens with a development secret, then that it serves an embedded database, not for production, and where its data is', () => {
    const [secret, first, second, third] = logged();
    expect(secret).toMatchObject({
      level: 'warn',
      msg: expect.stringMatching(/JWT_SECRET is not set.*DEVELOPMENT secret.*never does this/),
      secretFile: '.data/development-jwt-secret',
    });
    expect(first.msg).toMatch(/EMBEDDED PostgreSQL/);
    expect(first.dataDir).toBe(dataDir);
    expect(second.msg).toMatch(/one session at a time.*not for production or load tests/);
    expect(third).toMatchObject({
      msg: expect.stringMatching(/^Embedded PostgreSQL initialised/),
      dataDir,
      databaseUrl: expect.stringMatching(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/),
    });
    expect(logged().some((line) => line.msg === `Applied migrations: ${shippedMigrations().join(', ')}`)).toBe(true);
  });

  it('serves the API docs and the authenticated API', async () => {
    const docs = await fetch(`${baseUrl}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
    const unauthenticated = await fetch(`${baseUrl}/api/v1/engineers`);
    expect(unauthenticated.status).toBe(401);
    const withDevelopmentToken = await fetch(`${baseUrl}/api/v1/engineers`, {
      headers: {
        Authorization: `Bearer ${jwt.sign({ sub: 'local-admin', roles: ['admin'] }, developmentJwtSecret(), { expiresIn: '5m' })}`,
      },
    });
    expect(withDevelopmentToken.status).toBe(200);
  });

  it('prints a console link whose admin token the service accepts and which lives 8 h at most', async () => {
    await expect
      .poll(
        () =>
          logged().find(
            (line) => line.msg?.startsWith('Console for a local admin') || line.msg?.startsWith('The console is not built yet'),
          ),
        { timeout: 10_000 },
      )
      .toBeDefined();
    // npm test builds the console first; a run of this file alone may come before any build.
    if (!existsSync(path.join(root, 'dist', 'console', 'index.html'))) {
      expect(logged().some((entry) => entry.msg?.startsWith('The console is not built yet'))).toBe(true);
      return;
    }
    const line = logged().find((entry) => entry.msg?.startsWith('Console for a local admin'));
    expect(line).toBeDefined();
    const link = /(http:\/\/\S+\/console\/)#token=(\S+)$/.exec(line!.msg!)!;
    expect(link[1]).toBe(`${baseUrl}/console/`);
    const claims = jwt.decode(link[2]) as { sub: string; roles: string[]; exp: number; iat: number };
    expect(claims).toMatchObject({ sub: 'local-admin', roles: ['admin'] });
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(8 * 3600);
    const page = await fetch(link[1]);
    expect(page.status).toBe(200);
    const withLinkToken = await fetch(`${baseUrl}/api/v1/engineers`, { headers: { Authorization: `Bearer ${link[2]}` } });
    expect(withLinkToken.status).toBe(200);
  });

  it("enforces the migration's hand-written invariants on the embedded database", async () => {
    const { databaseUrl } = logged().find((line) => line.databaseUrl)!;
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      const engineer = await client.query<{ id: string; is_available: boolean }>(
        `INSERT INTO engineers (name, email, expertise, max_concurrent_reviews) VALUES ('Ada', 'ada@example.com', ARRAY['postgres'], 1)
         RETURNING id, is_available`,
      );
      expect(engineer.rows[0].is_available).toBe(true);
      await client.query('SAVEPOINT over_capacity');
      await expect(client.query(`UPDATE engineers SET current_review_count = 2`)).rejects.toMatchObject({ code: '23514' });
      await client.query('ROLLBACK TO SAVEPOINT over_capacity');
      const full = await client.query<{ is_available: boolean }>(`UPDATE engineers SET current_review_count = 1 RETURNING is_available`);
      expect(full.rows[0].is_available).toBe(false);

      await client.query(`INSERT INTO incidents (title, severity, ai_proposal) VALUES ('Disk full', 'high', 'Grow the volume')`);
      const openReview = `INSERT INTO reviews (incident_id, engineer_id, expected_completion_at, assignment_strategy, assigned_by)
                          SELECT incidents.id, engineers.id, now(), 'manual', 'test' FROM incidents, engineers`;
      await client.query(openReview);
      await client.query('SAVEPOINT second_open_review');
      await expect(client.query(openReview)).rejects.toMatchObject({ code: '23505', constraint: 'reviews_one_open_per_incident' });
      await client.query('ROLLBACK TO SAVEPOINT second_open_review');

      await client.query(
        `INSERT INTO audit_entries (actor_sub, action, entity_type, entity_id) VALUES ('test', 'engineer.created', 'engineer', $1)`,
        [engineer.rows[0].id],
      );
      await expect(client.query(`UPDATE audit_entries SET actor_sub = 'someone else'`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  });

  it(
    'stops gracefully on SIGTERM with exit code 0, leaving a database that opens again',
    async () => {
      const startedAt = Date.now();
      child.kill('SIGTERM');
      const exit = await Promise.race([
        exitOf(child),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${STOP_WITHIN_MS / 1000} s`)), STOP_WITHIN_MS)),
      ]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - startedAt).toBeLessThan(STOP_WITHIN_MS);

      const reopened = await startEmbeddedPostgres({ dataDir });
      const client = new pg.Client({ connectionString: reopened.url });
      try {
        expect(reopened.created).toBe(false);
        await client.connect();
        const migrations = await client.query(
          `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`,
        );
        expect(migrations.rows.map((row: { migration_name: string }) => row.migration_name)).toEqual(shippedMigrations());
      } finally {
        await client.end().catch(() => undefined);
        await reopened.stop();
      }
    },
    STOP_WITHIN_MS + 30_000,
  );
});
