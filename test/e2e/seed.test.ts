import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { adminToken, bearer, startTestApp, type TestApp } from '../support/test-app.js';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** `npm run seed` exactly as a user runs it, against the suite's database. */
async function seed(databaseUrl: string): Promise<string> {
  const { stdout } = await run('npm', ['run', '--silent', 'seed'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    timeout: 60_000,
  });
  return stdout;
}

describe('npm run seed', () => {
  let t: TestApp;
  let databaseUrl: string;

  beforeAll(async () => {
    t = await startTestApp();
    databaseUrl = t.config.databaseUrl;
  });
  afterAll(() => t?.close());

  it('loads engineers, incidents in every status and reviews, then creates nothing on a second run', async () => {
    expect(await seed(databaseUrl)).toContain('8 of 8 engineers and 10 of 10 incidents created');
    expect(await seed(databaseUrl)).toContain('0 of 8 engineers and 0 of 10 incidents created');

    const engineers = await t.http.get('/api/v1/engineers?pageSize=100').set(bearer(adminToken()));
    expect(engineers.status).toBe(200);
    expect(engineers.body.total).toBe(8);
    expect(new Set(engineers.body.items.map((engineer: { status: string }) => engineer.status))).toEqual(
      new Set(['active', 'on_leave', 'offline']),
    );

    const incidents = await t.http.get('/api/v1/incidents?pageSize=100').set(bearer(adminToken()));
    expect(incidents.status).toBe(200);
    expect(incidents.body.total).toBe(10);
    expect(new Set(incidents.body.items.map((incident: { status: string }) => incident.status))).toEqual(
      new Set(['detected', 'analyzing', 'pending_approval', 'approved', 'resolved']),
    );
  }, 150_000);

  it('keeps the review invariants: counters, open review pointers and decided approaches', async () => {
    const drift = await t.sql.query(`
      SELECT e.email FROM engineers e
      WHERE e.current_review_count <> (SELECT count(*) FROM reviews r WHERE r.engineer_id = e.id AND r.status IN ('assigned', 'in_progress', 'submitted'))`);
    expect(drift.rows).toEqual([]);

    const incidents = await t.sql.query<{
      status: string;
      chosen_approach: string | null;
      open_review_status: string | null;
      reviews: string;
    }>(`
      SELECT i.status, i.chosen_approach, open_review.status AS open_review_status, count(r.id)::text AS reviews
      FROM incidents i
      LEFT JOIN reviews open_review ON open_review.id = i.open_review_id
      LEFT JOIN reviews r ON r.incident_id = i.id
      GROUP BY i.id, open_review.status
      ORDER BY i.external_ref`);
    for (const incident of incidents.rows) {
      if (incident.status === 'pending_approval') {
        expect(incident.open_review_status).toMatch(/^(assigned|in_progress|submitted)$/);
      } else {
        expect(incident.open_review_status).toBeNull();
      }
      if (incident.status === 'approved' || incident.status === 'resolved') {
        expect(incident.chosen_approach).not.toBeNull();
        expect(incident.reviews).toBe('1');
      } else {
        expect(incident.chosen_approach).toBeNull();
      }
    }
    const reviewStatuses = await t.sql.query<{ status: string }>(`SELECT status::text FROM reviews ORDER BY status::text`);
    expect(reviewStatuses.rows.map((row) => row.status)).toEqual(['accepted', 'assigned', 'in_progress', 'rejected', 'submitted']);
  });
});
