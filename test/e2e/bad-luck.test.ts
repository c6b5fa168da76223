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

  it.each(['engineers', 'incidents'] as const)(
    'a row of %s locked by another connection: 503 with Retry-After within about LOCK_TIMEOUT_MS',
    async (table) => {
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
    },
  );
});

describe('bad luck: workload reconcile', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  async function withOpenReviews(count: number): Promise<Record<string, any>> {
    const engineer = await createEngineer(t, { maxConcurrentReviews: 3 });
    for (let i = 0; i < count; i += 1) {
      const incident = await createIncident(t);
      const res = await call(t.baseUrl, 'POST', '/api/v1/reviews', admin, { incidentId: incident.id, engineerId: engineer.id });
      expect(res.status).toBe(201);
    }
    return engineer;
  }

  async function unrepairedMetric(): Promise<number> {
    const res = await fetch(`${t.baseUrl}/metrics`);
    return Number(/^workload_reconcile_unrepaired_total (\d+)$/m.exec(await res.text())?.[1]);
  }

  it('repairs the engineers it can, one by one, and reports the one above capacity instead of failing', async () => {
    const repairable = await withOpenReviews(1);
    const unrepairable = await withOpenReviews(2);
    await t.sql.query('UPDATE engineers SET current_review_count = 0 WHERE id = $1', [repairable.id]);
    // Two open reviews, capacity lowered to 1 behind the API's back: the true count breaks the CHECK.
    await t.sql.query('UPDATE engineers SET current_review_count = 1, max_concurrent_reviews = 1 WHERE id = $1', [unrepairable.id]);
    const metricBefore = await unrepairedMetric();

    const res = await call(t.baseUrl, 'POST', '/api/v1/admin/workload/reconcile', admin);

    expect(res.status).toBe(200);
    const byId = (id: string) => res.body.drifted.find((row: { engineerId: string }) => row.engineerId === id);
    expect(byId(repairable.id)).toEqual({ engineerId: repairable.id, counter: 0, actual: 1 });
    expect(byId(unrepairable.id)).toEqual({ engineerId: unrepairable.id, counter: 1, actual: 2 });
    const { rows } = await t.sql.query('SELECT id::text, current_review_count AS n FROM engineers WHERE id = ANY($1::uuid[])', [
      [repairable.id, unrepairable.id],
    ]);
    expect(Object.fromEntries(rows.map((row) => [row.id, row.n]))).toEqual({ [repairable.id]: 1, [unrepairable.id]: 1 });
    const audit = await call(t.baseUrl, 'GET', '/api/v1/audit?action=workload.reconciled', admin);
    expect(audit.body.items.map((entry: { entityId: string }) => entry.entityId)).toEqual([repairable.id]);
    expect(await unrepairedMetric()).toBe(metricBefore + 1);
    const drift = await call(t.baseUrl, 'GET', '/api/v1/admin/workload/drift', admin);
    expect(drift.body.drifted).toEqual([{ engineerId: unrepairable.id, counter: 1, actual: 2 }]);
  });
});

describe('bad luck: drain racing assignments', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  const assign = (incidentId: string, engineerId: string) => call(t.baseUrl, 'POST', '/api/v1/reviews', admin, { incidentId, engineerId });
  const drain = (engineerId: string) =>
    call(t.baseUrl, 'POST', `/api/v1/engineers/${engineerId}/drain`, admin, { status: 'on_leave', reason: 'leave' });

  /** Every open review of the drained engineer is one the drain reported as not reassigned. */
  async function leftBehind(engineerId: string, notReassigned: string[]): Promise<string[]> {
    const { rows } = await t.sql.query(
      `SELECT id::text FROM reviews WHERE engineer_id = $1 AND status IN ('assigned', 'in_progress', 'submitted')`,
      [engineerId],
    );
    return rows.map((row) => row.id).filter((id) => !notReassigned.includes(id));
  }

  it("a review assigned after the drain read the engineer's reviews, before it locked the engineer, is moved too", async () => {
    const drained = await createEngineer(t, { maxConcurrentReviews: 5 });
    await createEngineer(t, { maxConcurrentReviews: 10 });
    const [first, second] = [await createIncident(t), await createIncident(t)];
    const old = await assign(first.id, drained.id);
    expect(old.status).toBe(201);
    const holder = await t.sql.connect();
    let late: Awaited<ReturnType<typeof assign>>;
    let result: Awaited<ReturnType<typeof drain>>;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE', [first.id]);
      const draining = drain(drained.id);
      await waitForLockWaiter(t);
      late = await assign(second.id, drained.id);
      await holder.query('ROLLBACK');
      result = await draining;
    } finally {
      holder.release();
    }
    expect(late.status).toBe(201);
    expect(result.status).toBe(200);
    expect(result.body.reassigned.map((move: { fromReviewId: string }) => move.fromReviewId).sort()).toEqual(
      [old.body.id, late.body.id].sort(),
    );
    expect(await leftBehind(drained.id, result.body.notReassigned)).toEqual([]);
  });

  it('many assignments racing a drain: each one is moved or reported by it, or refused with ENGINEER_UNAVAILABLE', async () => {
    const drained = await createEngineer(t, { maxConcurrentReviews: 50 });
    await createEngineer(t, { maxConcurrentReviews: 50 });
    const incidents = await Promise.all(Array.from({ length: 30 }, () => createIncident(t)));
    const assigns = incidents.map((incident, index) =>
      new Promise((resolve) => setTimeout(resolve, index * 3)).then(() => assign(incident.id, drained.id)),
    );
    const draining = new Promise((resolve) => setTimeout(resolve, 40)).then(() => drain(drained.id));
    const [results, result] = await Promise.all([Promise.all(assigns), draining]);
    expect(result.status).toBe(200);
    const moved = new Set(result.body.reassigned.map((move: { fromReviewId: string }) => move.fromReviewId));
    for (const res of results) {
      if (res.status === 201) expect(moved.has(res.body.id) || result.body.notReassigned.includes(res.body.id)).toBe(true);
      else expect([res.status, res.body.code]).toEqual([409, 'ENGINEER_UNAVAILABLE']);
    }
    expect(await leftBehind(drained.id, result.body.notReassigned)).toEqual([]);
  });
});

/** Resolves once some session of the test database waits for a row lock. */
async function waitForLockWaiter(t: TestApp): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await t.sql.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('nobody waited for the lock');
}
