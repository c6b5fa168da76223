import type pg from 'pg';

import { WORKLOAD_DRIFT_SQL } from '@app/reviews';

/** The database-level truths every test run must leave intact; returns the violations found. */
export async function invariantViolations(sql: pg.Pool): Promise<string[]> {
  const checks: [string, string][] = [
    [
      'engineer over capacity or negative',
      'SELECT id FROM engineers WHERE current_review_count > max_concurrent_reviews OR current_review_count < 0',
    ],
    ['counter differs from open reviews', `SELECT 1 FROM (${WORKLOAD_DRIFT_SQL}) w WHERE w.counter <> w.actual`],
    [
      'two open reviews on one incident',
      `SELECT incident_id FROM reviews WHERE status IN ('assigned','in_progress','submitted') GROUP BY incident_id HAVING count(*) > 1`,
    ],
    [
      'incident open_review_id out of step',
      `SELECT i.id FROM incidents i LEFT JOIN reviews r ON r.incident_id = i.id AND r.status IN ('assigned','in_progress','submitted')
       WHERE i.open_review_id IS DISTINCT FROM r.id`,
    ],
  ];
  const violations: string[] = [];
  for (const [name, query] of checks) {
    const { rowCount } = await sql.query(query);
    if (rowCount) violations.push(`${name}: ${rowCount}`);
  }
  return violations;
}
