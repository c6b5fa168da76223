import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngineer, createIncident } from '../support/factories.js';
import { call } from '../support/http-client.js';
import { adminToken, startTestApp, type TestApp } from '../support/test-app.js';

const admin = adminToken();
const LOCK_TIMEOUT_MS = 500;

describe('bad luck: lock waits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS) });
  });
  afterAll(async () => t.close());

  /** Runs `attempt` while another connection holds `FOR UPDATE` on one row of `table`. */
  async function whileLocked<T>(table: 'engineers' | 'incidents', id: string, attempt: () => Promise<T>): Promise<T> {
    const holder = await t.sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
      return await attempt();
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  }

  it.each(['engineers', 'incidents'] as const)('a row of %s locked by another connection: 503 with Retry-After within about LOCK_TIMEOUT_MS', async (table) => {
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const started = Date.now();
    const res = await whileLocked(table, table === 'engineers' ? engineer.id : incident.id, () =>
      call(t.baseUrl, 'POST', '/api/v1/reviews', admin, { incidentId: incident.id, engineerId: engineer.id }),
    );
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS);
    expect(elapsed).toBeLessThan(LOCK_TIMEOUT_MS + 3_000);
    const { rows } = await t.sql.query('SELECT count(*)::int AS n FROM reviews WHERE incident_id = $1', [incident.id]);
    expect(rows[0].n).toBe(0);
    const retry = await call(t.baseUrl, 'POST', '/api/v1/reviews', admin, { incidentId: incident.id, engineerId: engineer.id });
    expect(retry.status).toBe(201);
  });
});
