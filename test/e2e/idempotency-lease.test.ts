import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { lastValueFrom, of } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { IdempotencyInterceptor, IdempotencyPurger, IdempotencyRepository, MAX_STORED_BODY_BYTES } from '@app/http';

import { databaseUrl } from '../support/database.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { call } from '../support/http-client.js';
import { freePort } from '../support/ports.js';
import { adminToken, startTestApp, TEST_JWT_SECRET, type TestApp } from '../support/test-app.js';

const admin = adminToken();
const LEASE_SECONDS = 3;
const root = path.resolve(import.meta.dirname, '../..');
const builtMain = path.join(root, 'dist', 'apps', 'api', 'src', 'main.js');

describe('Idempotency-Key claims are leases', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Lock waits far longer than the lease, so that a request can be kept running past it.
    t = await startTestApp({ IDEMPOTENCY_LEASE_SECONDS: String(LEASE_SECONDS), LOCK_TIMEOUT_MS: '60000' });
  });
  afterAll(async () => t.close());

  async function lockRow(table: 'incidents', id: string): Promise<{ release(): Promise<void> }> {
    const holder = await t.sql.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
    return {
      async release() {
        await holder.query('ROLLBACK');
        holder.release();
      },
    };
  }

  async function lockWaiters(): Promise<number> {
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return rows[0].n;
  }

  async function untilLockWaiter(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await lockWaiters()) === 0) {
      if (Date.now() > deadline) throw new Error('the request never waited for the lock');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('a request running past the lease keeps its key (it renews it), and a waiter backs off while it waits, then replays', async () => {
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const body = { incidentId: incident.id, engineerId: engineer.id };
    const headers = { 'Idempotency-Key': `slow-${incident.id}` };
    const lock = await lockRow('incidents', incident.id);
    const first = call(t.baseUrl, 'POST', '/api/v1/reviews', admin, body, headers);
    await untilLockWaiter();
    const finds = vi.spyOn(t.app.get(IdempotencyRepository), 'find');
    const waiter = call(t.baseUrl, 'POST', '/api/v1/reviews', admin, body, headers);
    const waitedMs = (LEASE_SECONDS + 2) * 1000;
    await new Promise((resolve) => setTimeout(resolve, waitedMs));
    const polls = finds.mock.calls.length;
    finds.mockRestore();
    await lock.release();
    const [acted, replayed] = await Promise.all([first, waiter]);

    expect(acted.status).toBe(201);
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body.id).toBe(acted.body.id);
    // 25 ms doubling to 1 s: about 9 polls in 5 s (a fixed 25 ms pause would be 200).
    expect(polls).toBeGreaterThan(3);
    expect(polls).toBeLessThanOrEqual(2 + waitedMs / 1000 + 6);
  });

  it(`an answer over ${MAX_STORED_BODY_BYTES} bytes is not stored (the key is released), a smaller one is`, async () => {
    const interceptor = new IdempotencyInterceptor(t.app.get(IdempotencyRepository), new Reflector(), t.config);
    const answer = async (key: string, text: string) => {
      const req = {
        id: 'big-test-request',
        method: 'POST',
        url: '/api/v1/big',
        originalUrl: '/api/v1/big',
        body: {},
        caller: { sub: 'big-test' },
        headers: { 'idempotency-key': key },
      };
      const context = new ExecutionContextHost([req, {}], class {}, () => undefined);
      await lastValueFrom(interceptor.intercept(context, { handle: () => of({ text }) }));
      const { rows } = await t.sql.query(`SELECT status_code FROM idempotency_records WHERE subject = 'big-test' AND key = $1`, [key]);
      return rows;
    };
    expect(await answer('small', 'x'.repeat(MAX_STORED_BODY_BYTES - 100))).toEqual([{ status_code: 201 }]);
    expect(await answer('large', 'x'.repeat(MAX_STORED_BODY_BYTES))).toEqual([]);
  });

  it('the purge deletes records older than 24 h in bounded batches and keeps recent ones', async () => {
    await t.sql.query(`
      INSERT INTO idempotency_records (subject, method, path, key, request_hash, status_code, response_body, created_at)
      SELECT 'purge-test', 'POST', '/api/v1/reviews', 'old-' || i, 'h', 201, '{}'::jsonb, now() - interval '25 hours' - i * interval '1 second'
      FROM generate_series(1, 2500) i
      UNION ALL
      SELECT 'purge-test', 'POST', '/api/v1/reviews', 'new-' || i, 'h', 201, '{}'::jsonb, now() - interval '23 hours'
      FROM generate_series(1, 10) i`);
    const count = async (prefix: string) =>
      (await t.sql.query(`SELECT count(*)::int AS n FROM idempotency_records WHERE subject = 'purge-test' AND key LIKE $1`, [`${prefix}%`]))
        .rows[0].n;
    const purger = t.app.get(IdempotencyPurger);

    expect(await purger.purge({ batchSize: 1_000, maxBatches: 2 })).toEqual([1_000, 1_000]);
    expect(await count('old-')).toBe(500);
    expect(await purger.purge({ batchSize: 1_000, maxBatches: 2 })).toEqual([500]);
    expect(await count('old-')).toBe(0);
    expect(await count('new-')).toBe(10);
  });

  describe.skipIf(!existsSync(builtMain))('when the replica holding a key dies (built service, SIGKILL)', () => {
    let replica: ChildProcess;
    let replicaUrl: string;

    beforeAll(async () => {
      const port = await freePort();
      replicaUrl = `http://127.0.0.1:${port}`;
      replica = spawn(process.execPath, [builtMain], {
        cwd: root,
        stdio: 'ignore',
        env: {
          PATH: process.env.PATH,
          TZ: 'UTC',
          NODE_ENV: 'test',
          HOST: '127.0.0.1',
          PORT: String(port),
          LOG_LEVEL: 'warn',
          DATABASE_URL: databaseUrl(t.databaseName),
          DATABASE_POOL_MAX: '3',
          JWT_SECRET: TEST_JWT_SECRET,
          SCHEDULER_ENABLED: 'false',
          IDEMPOTENCY_LEASE_SECONDS: String(LEASE_SECONDS),
          LOCK_TIMEOUT_MS: '60000',
        },
      });
      const deadline = Date.now() + 60_000;
      while (
        (await fetch(`${replicaUrl}/health/ready`).then(
          (res) => res.status,
          () => 0,
        )) !== 200
      ) {
        if (replica.exitCode !== null || Date.now() > deadline) throw new Error('the built replica did not become ready');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }, 70_000);

    afterAll(() => {
      if (replica?.exitCode === null && replica.signalCode === null) replica.kill('SIGKILL');
    });

    it('a retry on another replica acts once the lease has run out, instead of waiting for 24 h', async () => {
      const engineer = await createEngineer(t);
      const incident = await createIncident(t);
      const body = { incidentId: incident.id, engineerId: engineer.id };
      const headers = { 'Idempotency-Key': `dies-${incident.id}` };
      const lock = await lockRow('incidents', incident.id);
      const doomed = call(replicaUrl, 'POST', '/api/v1/reviews', admin, body, headers).catch((error: unknown) => error);
      await untilLockWaiter();
      const exited = new Promise((resolve) => replica.once('exit', resolve));
      replica.kill('SIGKILL');
      await exited;
      await lock.release();
      expect(await doomed).toBeInstanceOf(Error);

      const started = Date.now();
      const retry = await call(t.baseUrl, 'POST', '/api/v1/reviews', admin, body, headers);
      const elapsed = Date.now() - started;

      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      expect(elapsed).toBeLessThan((LEASE_SECONDS + 3) * 1000);
      const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM reviews WHERE incident_id = $1`, [incident.id]);
      expect(rows[0].n).toBe(1);
      const again = await call(t.baseUrl, 'POST', '/api/v1/reviews', admin, body, headers);
      expect([again.status, again.headers.get('idempotent-replayed'), again.body.id]).toEqual([201, 'true', retry.body.id]);
    });
  });
});
