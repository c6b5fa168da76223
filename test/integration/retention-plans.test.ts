import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PURGE_EXPIRED_IDEMPOTENCY_SQL } from '@app/http';
import { PURGE_DELIVERED_SQL, PURGE_EVENTS_SQL } from '@app/webhooks';

import { startTestServices, type TestServices } from '../support/test-services.js';

const RECENT_ROWS = 20_000;
const EXPIRED_ROWS = 2_000;
const BATCH = 1_000;

/**
 * The retention purges run every minute on every replica against tables that hold days of rows: each
 * statement must find its batch through an index and delete it by key or address, whatever the
 * estimates. A delete joined to its own batch is planned from them: with many rows expired in a table
 * of narrow rows, as here, as a hash join that reads the whole table on every statement.
 */
describe('retention purges read only what they delete', () => {
  let t: TestServices;
  beforeAll(async () => {
    t = await startTestServices();
    await t.sql.query(
      `INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload, position)
       SELECT gen_random_uuid(), 'review.assigned', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
              now() - CASE WHEN g <= $1::int THEN interval '200 hours' ELSE interval '1 hour' END, '{}', g
       FROM generate_series(1, $1::int + $2::int) g`,
      [EXPIRED_ROWS, RECENT_ROWS],
    );
    await t.sql.query(
      `INSERT INTO webhook_events (type, review_id, occurred_at, payload, delivered_at, attempts)
       SELECT 'review.assigned', gen_random_uuid(), now() - interval '200 hours', '{}'::jsonb,
              now() - CASE WHEN g <= $1::int THEN interval '200 hours' ELSE interval '1 hour' END, 1
       FROM generate_series(1, $1::int + $2::int) g`,
      [EXPIRED_ROWS, RECENT_ROWS],
    );
    await t.sql.query(
      `INSERT INTO idempotency_records (subject, method, path, key, request_hash, status_code, response_body, created_at)
       SELECT 'plan-test', 'POST', '/api/v1/reviews', 'key-' || g, 'h', 201, '{}'::jsonb,
              now() - CASE WHEN g <= $1::int THEN interval '25 hours' ELSE interval '1 hour' END
       FROM generate_series(1, $1::int + $2::int) g`,
      [EXPIRED_ROWS, RECENT_ROWS],
    );
    await t.sql.query('ANALYZE review_events, webhook_events, idempotency_records');
  });
  afterAll(async () => t.close());

  const purges = [
    {
      table: 'review_events',
      sql: PURGE_EVENTS_SQL,
      params: () => [new Date(Date.now() - 168 * 3_600_000), BATCH],
      // Positions below the recent events', which keep the highest.
      addExpired: `INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload, position)
        SELECT gen_random_uuid(), 'review.assigned', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), now() - interval '200 hours', '{}', -g
        FROM generate_series(1, $1::int) g`,
    },
    {
      table: 'webhook_events',
      sql: PURGE_DELIVERED_SQL,
      params: () => [168, BATCH],
      addExpired: `INSERT INTO webhook_events (type, review_id, occurred_at, payload, delivered_at, attempts)
        SELECT 'review.assigned', gen_random_uuid(), now() - interval '200 hours', '{}'::jsonb, now() - interval '200 hours', 1
        FROM generate_series(1, $1::int) g`,
    },
    {
      table: 'idempotency_records',
      sql: PURGE_EXPIRED_IDEMPOTENCY_SQL,
      params: () => [24 * 3_600, BATCH],
      addExpired: `INSERT INTO idempotency_records (subject, method, path, key, request_hash, status_code, response_body, created_at)
        SELECT 'plan-test', 'POST', '/api/v1/reviews', 'again-' || g, 'h', 201, '{}'::jsonb, now() - interval '25 hours'
        FROM generate_series(1, $1::int) g`,
    },
  ];

  it.each(purges)('$table: a batch is found through an index and deleted by key, never by a scan of the table', async ({ sql, params }) => {
    const { rows } = await t.sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params());
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).not.toContain('Seq Scan');
    expect(plan).not.toContain('Hash');
    expect(plan).toMatch(/Index (Only )?Scan/);
  });

  it.each(purges)('$table: deletes one batch of expired rows and nothing recent', async ({ table, sql, params }) => {
    const count = async (): Promise<number> => (await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
    const before = await count();
    expect((await t.sql.query(sql, params())).rowCount).toBe(BATCH);
    expect(await count()).toBe(before - BATCH);
    expect((await t.sql.query(sql, params())).rowCount).toBe(EXPIRED_ROWS - BATCH);
    expect((await t.sql.query(sql, params())).rowCount).toBe(0);
    expect(await count(), 'every expired row is gone, every recent one stays').toBe(before - EXPIRED_ROWS);
  });

  it.each(purges)(
    '$table: two replicas purging at once delete every expired row once and no recent one',
    async ({ table, sql, params, addExpired }) => {
      const count = async (): Promise<number> => (await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
      const before = await count();
      await t.sql.query(addExpired, [EXPIRED_ROWS]);
      const replicaPass = async (): Promise<number> => {
        let total = 0;
        for (let batch = 0; batch < EXPIRED_ROWS; batch += 1) {
          const deleted = (await t.sql.query(sql, params())).rowCount ?? 0;
          total += deleted;
          if (deleted < BATCH) return total;
        }
        return total;
      };
      const deleted = await Promise.all([replicaPass(), replicaPass()]);
      expect(deleted[0] + deleted[1]).toBe(EXPIRED_ROWS);
      expect(await count()).toBe(before);
    },
  );
});
