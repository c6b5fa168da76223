import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Actor } from '@app/auth';
import { IntegrityError } from '@app/common';
import { ReviewCancellationService } from '@app/reviews';

import { SqlFixtures, startTestServices, type TestServices } from '../support/test-services.js';

/**
 * Counters never hide bugs (docs/architecture.md): when the engineer row a finalised review releases
 * is wrong, the use case fails (a 500 over HTTP) and rolls back every step it took before.
 */
describe('integrity errors roll the use case back', () => {
  let t: TestServices;
  let rows: SqlFixtures;
  const admin = new Actor('admin-1', ['admin'], null);
  beforeAll(async () => {
    t = await startTestServices();
    rows = new SqlFixtures(t.sql);
  });
  afterAll(async () => t.close());

  async function state(reviewId: string, engineerId: string): Promise<unknown> {
    const { rows: found } = await t.sql.query(
      `SELECT r.status, r.cancelled_at, i.open_review_id = r.id AS open, e.current_review_count AS count,
         (SELECT count(*)::int FROM audit_entries a WHERE a.entity_id = r.id) AS audited
       FROM reviews r JOIN incidents i ON i.id = r.incident_id LEFT JOIN engineers e ON e.id = $2 WHERE r.id = $1`,
      [reviewId, engineerId],
    );
    return found[0];
  }

  it('a counter that would go negative fails the cancel and changes nothing', async () => {
    const engineerId = await rows.engineer();
    const reviewId = await rows.review(await rows.incident(), engineerId, 'assigned');
    await t.sql.query('UPDATE engineers SET current_review_count = 0 WHERE id = $1', [engineerId]);
    const before = await state(reviewId, engineerId);
    expect(before).toEqual({ status: 'assigned', cancelled_at: null, open: true, count: 0, audited: 0 });

    const failure = await t.app
      .get(ReviewCancellationService)
      .cancel(admin, reviewId, 'No longer needed')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).message)).toContain('engineers_review_count_non_negative');
    expect(await state(reviewId, engineerId)).toEqual(before);
  });

  it('an open review whose engineer row is gone fails the cancel with IntegrityError and changes nothing', async () => {
    const engineerId = await rows.engineer();
    const reviewId = await rows.review(await rows.incident(), engineerId, 'in_progress');
    // Only with the foreign keys' triggers off (replica mode) can the row go; the service must not trust it is there.
    const client = await t.sql.connect();
    try {
      await client.query(`SET session_replication_role = replica`);
      await client.query('DELETE FROM engineers WHERE id = $1', [engineerId]);
    } finally {
      await client.query('RESET session_replication_role');
      client.release();
    }
    const before = await state(reviewId, engineerId);
    expect(before).toEqual({ status: 'in_progress', cancelled_at: null, open: true, count: null, audited: 0 });

    const failure = await t.app
      .get(ReviewCancellationService)
      .cancel(admin, reviewId, 'No longer needed')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IntegrityError);
    expect(await state(reviewId, engineerId)).toEqual(before);
  });
});
