import { randomUUID } from 'node:crypto';

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestServices, type TestServices } from '../support/test-services.js';

/**
 * Each invariant the schema promises, attacked with raw SQL that bypasses the application: the
 * database itself must refuse. The SQLSTATE and constraint name show which rule did the refusing.
 */
describe('database invariants', () => {
  let t: TestServices;
  beforeAll(async () => {
    t = await startTestServices();
  });
  afterAll(async () => t.close());

  async function refusal(statement: string, params: unknown[] = []): Promise<pg.DatabaseError> {
    const error = await t.sql.query(statement, params).then(
      () => undefined,
      (caught: unknown) => caught as pg.DatabaseError,
    );
    if (!error) throw new Error(`PostgreSQL accepted: ${statement}`);
    return error;
  }

  async function engineerRow(overrides: { max?: number; count?: number } = {}): Promise<string> {
    const id = randomUUID();
    await t.sql.query(
      `INSERT INTO engineers (id, name, email, max_concurrent_reviews, current_review_count) VALUES ($1, 'Fixture', $2, $3, $4)`,
      [id, `fixture-${id}@example.com`, overrides.max ?? 3, overrides.count ?? 0],
    );
    return id;
  }

  async function incidentRow(): Promise<string> {
    const id = randomUUID();
    await t.sql.query(`INSERT INTO incidents (id, title, severity, ai_proposal) VALUES ($1, 'Fixture', 'low', 'Nothing')`, [id]);
    return id;
  }

  const insertReview = (incidentId: string, engineerId: string, status: string): Promise<pg.QueryResult> =>
    t.sql.query(
      `INSERT INTO reviews (id, incident_id, engineer_id, status, expected_completion_at, assignment_strategy, assigned_by)
       VALUES (gen_random_uuid(), $1, $2, $3::review_status, now() + interval '1 hour', 'manual', 'test')`,
      [incidentId, engineerId, status],
    );

  it('refuses a negative review counter', async () => {
    const id = await engineerRow();
    const error = await refusal('UPDATE engineers SET current_review_count = current_review_count - 1 WHERE id = $1', [id]);
    expect(error).toMatchObject({ code: '23514', constraint: 'engineers_review_count_non_negative' });
  });

  it('refuses a review counter above capacity, whichever side moves', async () => {
    const id = await engineerRow({ max: 2, count: 2 });
    const up = await refusal('UPDATE engineers SET current_review_count = current_review_count + 1 WHERE id = $1', [id]);
    expect(up).toMatchObject({ code: '23514', constraint: 'engineers_review_count_within_capacity' });
    const down = await refusal('UPDATE engineers SET max_concurrent_reviews = 1 WHERE id = $1', [id]);
    expect(down).toMatchObject({ code: '23514', constraint: 'engineers_review_count_within_capacity' });
    const created = await refusal(
      `INSERT INTO engineers (id, name, email, max_concurrent_reviews, current_review_count) VALUES ($1, 'x', $2, 1, 2)`,
      [randomUUID(), `over-${randomUUID()}@example.com`],
    );
    expect(created).toMatchObject({ code: '23514', constraint: 'engineers_review_count_within_capacity' });
  });

  it('refuses a capacity of 0', async () => {
    const id = await engineerRow();
    const error = await refusal('UPDATE engineers SET max_concurrent_reviews = 0 WHERE id = $1', [id]);
    expect(error).toMatchObject({ code: '23514', constraint: 'engineers_max_reviews_positive' });
  });

  it('refuses an email that is not lower-case', async () => {
    const error = await refusal(`INSERT INTO engineers (id, name, email) VALUES ($1, 'x', 'Upper@Example.com')`, [randomUUID()]);
    expect(error).toMatchObject({ code: '23514', constraint: 'engineers_email_lower_case' });
  });

  it('refuses a second open review on one incident, while final reviews may pile up', async () => {
    const incidentId = await incidentRow();
    const first = await engineerRow();
    const second = await engineerRow();
    await insertReview(incidentId, first, 'cancelled');
    await insertReview(incidentId, first, 'assigned');
    for (const status of ['assigned', 'in_progress', 'submitted']) {
      const error = await refusal(
        `INSERT INTO reviews (id, incident_id, engineer_id, status, expected_completion_at, assignment_strategy, assigned_by)
         VALUES (gen_random_uuid(), $1, $2, $3::review_status, now(), 'manual', 'test')`,
        [incidentId, second, status],
      );
      expect(error).toMatchObject({ code: '23505', constraint: 'reviews_one_open_per_incident' });
    }
    await insertReview(incidentId, second, 'cancelled');
    const reopened = await refusal(`UPDATE reviews SET status = 'in_progress' WHERE incident_id = $1 AND engineer_id = $2`, [
      incidentId,
      second,
    ]);
    expect(reopened).toMatchObject({ code: '23505', constraint: 'reviews_one_open_per_incident' });
  });

  it('refuses to hard-delete an engineer who has reviews, even final ones', async () => {
    const engineerId = await engineerRow();
    await insertReview(await incidentRow(), engineerId, 'cancelled');
    const error = await refusal('DELETE FROM engineers WHERE id = $1', [engineerId]);
    expect(error).toMatchObject({ code: '23503', constraint: 'reviews_engineer_id_fkey' });
    expect((await t.sql.query('SELECT 1 FROM engineers WHERE id = $1', [engineerId])).rowCount).toBe(1);
  });

  it('refuses to edit, delete or truncate audit entries', async () => {
    const { rows } = await t.sql.query<{ id: string }>(
      `INSERT INTO audit_entries (actor_sub, action, entity_type, entity_id) VALUES ('admin-1', 'engineer.created', 'engineer', $1) RETURNING id`,
      [randomUUID()],
    );
    const auditId = rows[0]!.id;
    const edit = await refusal(`UPDATE audit_entries SET actor_sub = 'someone-else' WHERE id = $1`, [auditId]);
    expect(edit).toMatchObject({ code: '42501' });
    expect(edit.message).toContain('append-only');
    const remove = await refusal('DELETE FROM audit_entries WHERE id = $1', [auditId]);
    expect(remove).toMatchObject({ code: '42501' });
    const truncate = await refusal('TRUNCATE audit_entries');
    expect(truncate).toMatchObject({ code: '42501' });
    const { rows: after } = await t.sql.query('SELECT actor_sub FROM audit_entries WHERE id = $1', [auditId]);
    expect(after).toEqual([{ actor_sub: 'admin-1' }]);
  });

  it('refuses to write is_available, which PostgreSQL derives from status, deletion and load', async () => {
    const id = await engineerRow({ max: 1 });
    const update = await refusal('UPDATE engineers SET is_available = false WHERE id = $1', [id]);
    expect(update.code).toBe('428C9');
    const insert = await refusal(`INSERT INTO engineers (id, name, email, is_available) VALUES ($1, 'x', $2, true)`, [
      randomUUID(),
      `gen-${randomUUID()}@example.com`,
    ]);
    expect(insert.code).toBe('428C9');
    const availability = async (): Promise<boolean> =>
      (await t.sql.query<{ is_available: boolean }>('SELECT is_available FROM engineers WHERE id = $1', [id])).rows[0]!.is_available;
    expect(await availability()).toBe(true);
    await t.sql.query('UPDATE engineers SET current_review_count = 1 WHERE id = $1', [id]);
    expect(await availability()).toBe(false);
    await t.sql.query(`UPDATE engineers SET current_review_count = 0, status = 'on_leave' WHERE id = $1`, [id]);
    expect(await availability()).toBe(false);
    await t.sql.query(`UPDATE engineers SET status = 'active', deleted_at = now() WHERE id = $1`, [id]);
    expect(await availability()).toBe(false);
  });
});
