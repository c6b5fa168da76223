import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Actor } from '@app/auth';
import { IntegrityError } from '@app/common';
import { AssignmentService, ReassignmentService, ReviewCancellationService, ReviewWorkService } from '@app/reviews';

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

  /** What cancelling the review throws (nothing when it succeeds). */
  const cancelFailure = (reviewId: string): Promise<unknown> =>
    t.app
      .get(ReviewCancellationService)
      .cancel(admin, reviewId, 'No longer needed')
      .then(
        () => undefined,
        (error: unknown) => error,
      );

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

    const failure = await cancelFailure(reviewId);
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

    const failure = await cancelFailure(reviewId);
    expect(failure).toBeInstanceOf(IntegrityError);
    expect(await state(reviewId, engineerId)).toEqual(before);
  });

  /**
   * A database that writes a row other than the one the use case predicted for its audit entry and
   * event (here a trigger that stamps updated_at with the wall clock) must not get either.
   */
  async function withRowsRewrittenByTrigger(work: () => Promise<void>): Promise<void> {
    await t.sql.query(`CREATE FUNCTION restamp_review() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.updated_at := clock_timestamp() + interval '1 second'; RETURN NEW; END $$`);
    await t.sql.query('CREATE TRIGGER restamp_review BEFORE INSERT OR UPDATE ON reviews FOR EACH ROW EXECUTE FUNCTION restamp_review()');
    try {
      await work();
    } finally {
      await t.sql.query('DROP TRIGGER restamp_review ON reviews');
      await t.sql.query('DROP FUNCTION restamp_review()');
    }
  }

  async function eventsOf(incidentId: string): Promise<number> {
    const { rows: found } = await t.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM review_events WHERE incident_id = $1', [
      incidentId,
    ]);
    return found[0]!.n;
  }

  it('a cancel whose written review differs from the one its audit entry predicts fails with IntegrityError and changes nothing', async () => {
    const engineerId = await rows.engineer();
    const incidentId = await rows.incident();
    const reviewId = await rows.review(incidentId, engineerId, 'assigned');
    const before = await state(reviewId, engineerId);
    expect(before).toEqual({ status: 'assigned', cancelled_at: null, open: true, count: 1, audited: 0 });

    await withRowsRewrittenByTrigger(async () => {
      const failure = await cancelFailure(reviewId);
      expect(failure).toBeInstanceOf(IntegrityError);
    });
    expect(await state(reviewId, engineerId)).toEqual(before);
    expect(await eventsOf(incidentId)).toBe(0);
  });

  it('an assign whose written review differs from the one its audit entry predicts fails with IntegrityError and writes nothing', async () => {
    const engineerId = await rows.engineer();
    const incidentId = await rows.incident();
    await withRowsRewrittenByTrigger(async () => {
      const failure = await t.app
        .get(AssignmentService)
        .assign(admin, { incidentId, engineerId, priority: 'normal' })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(IntegrityError);
    });
    const { rows: found } = await t.sql.query(
      `SELECT (SELECT count(*)::int FROM reviews WHERE incident_id = $1) AS reviews,
         (SELECT status::text FROM incidents WHERE id = $1) AS status,
         (SELECT current_review_count FROM engineers WHERE id = $2) AS count,
         (SELECT count(*)::int FROM audit_entries WHERE entity_id = $1) AS audited`,
      [incidentId, engineerId],
    );
    expect(found[0]).toEqual({ reviews: 0, status: 'detected', count: 0, audited: 0 });
    expect(await eventsOf(incidentId)).toBe(0);

    const assigned = await t.app.get(AssignmentService).assign(admin, { incidentId, engineerId, priority: 'normal' });
    expect(assigned).toMatchObject({ incidentId, engineerId, status: 'assigned' });
    expect(await eventsOf(incidentId)).toBe(1);
  });

  it('a start whose written review differs from the one its audit entry predicts fails with IntegrityError and writes nothing', async () => {
    const engineerId = await rows.engineer();
    const incidentId = await rows.incident();
    const reviewId = await rows.review(incidentId, engineerId, 'assigned');
    const engineer = new Actor(engineerId, ['engineer'], null);
    const written = async (): Promise<unknown> => {
      const { rows: found } = await t.sql.query(
        `SELECT r.status, r.started_at, (SELECT count(*)::int FROM audit_entries a WHERE a.entity_id = r.id) AS audited
         FROM reviews r WHERE r.id = $1`,
        [reviewId],
      );
      return found[0];
    };
    expect(await written()).toEqual({ status: 'assigned', started_at: null, audited: 0 });

    await withRowsRewrittenByTrigger(async () => {
      const failure = await t.app
        .get(ReviewWorkService)
        .start(engineer, reviewId)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(IntegrityError);
    });
    expect(await written()).toEqual({ status: 'assigned', started_at: null, audited: 0 });
    expect(await eventsOf(incidentId)).toBe(0);

    const started = await t.app.get(ReviewWorkService).start(engineer, reviewId);
    expect(started).toMatchObject({ id: reviewId, status: 'in_progress' });
    expect(await eventsOf(incidentId)).toBe(1);
  });

  it('a decision whose written review differs from the one its audit entries predict fails with IntegrityError and writes nothing', async () => {
    const engineerId = await rows.engineer();
    const incidentId = await rows.incident();
    const reviewId = await rows.review(incidentId, engineerId, 'submitted');
    const decision = { decision: 'engineer_approach', rationale: 'Sound' } as const;
    const written = async (): Promise<unknown> => {
      const { rows: found } = await t.sql.query(
        `SELECT r.status, i.chosen_approach, i.open_review_id = r.id AS open, e.current_review_count AS count,
           (SELECT count(*)::int FROM audit_entries a WHERE a.entity_id IN (r.id, i.id)) AS audited
         FROM reviews r JOIN incidents i ON i.id = r.incident_id JOIN engineers e ON e.id = r.engineer_id WHERE r.id = $1`,
        [reviewId],
      );
      return found[0];
    };
    const before = { status: 'submitted', chosen_approach: null, open: true, count: 1, audited: 0 };
    expect(await written()).toEqual(before);

    await withRowsRewrittenByTrigger(async () => {
      const failure = await t.app
        .get(ReviewWorkService)
        .decide(admin, incidentId, decision)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(IntegrityError);
    });
    expect(await written()).toEqual(before);
    expect(await eventsOf(incidentId)).toBe(0);

    const decided = await t.app.get(ReviewWorkService).decide(admin, incidentId, decision);
    expect(decided).toMatchObject({ decided: { id: reviewId, status: 'accepted', decision: 'engineer_approach' } });
    expect(await written()).toEqual({ status: 'accepted', chosen_approach: 'engineer_approach', open: null, count: 0, audited: 2 });
    expect(await eventsOf(incidentId)).toBe(1);
  });

  it('a reassign whose cancelled review differs from the one its audit entry predicts fails with IntegrityError and moves nothing', async () => {
    const engineerId = await rows.engineer();
    const targetId = await rows.engineer();
    const incidentId = await rows.incident();
    const reviewId = await rows.review(incidentId, engineerId, 'in_progress');
    const before = await state(reviewId, engineerId);
    await withRowsRewrittenByTrigger(async () => {
      const failure = await t.app
        .get(ReassignmentService)
        .reassign(admin, reviewId, { engineerId: targetId, reason: 'Rebalancing' })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(IntegrityError);
    });
    expect(await state(reviewId, engineerId)).toEqual(before);
    const { rows: found } = await t.sql.query(
      `SELECT (SELECT count(*)::int FROM reviews WHERE incident_id = $1) AS reviews,
         (SELECT current_review_count FROM engineers WHERE id = $2) AS target`,
      [incidentId, targetId],
    );
    expect(found[0]).toEqual({ reviews: 1, target: 0 });
    expect(await eventsOf(incidentId)).toBe(0);
  });
});
