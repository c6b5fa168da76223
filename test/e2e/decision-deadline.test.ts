import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEngineer, createIncident } from '../support/factories.js';
import { call } from '../support/http-client.js';
import { assignAndSubmit } from '../support/review-flow.js';
import { adminToken, startAppOn, startTestApp, type TestApp } from '../support/test-app.js';

const DEADLINE = {
  DECISION_SLA_SECONDS: '1',
  DECISION_DEADLINE_ACTION: 'ai_approach',
  SCHEDULER_ENABLED: 'true',
  ESCALATION_INTERVAL_SECONDS: '1',
};

describe('DECISION_DEADLINE_ACTION across three replicas', () => {
  let replicas: TestApp[];

  beforeAll(async () => {
    const first = await startTestApp(DEADLINE);
    replicas = [first, ...(await Promise.all([1, 2].map(() => startAppOn(first.databaseName, first.sql, DEADLINE))))];
  });
  afterAll(async () => {
    for (const replica of replicas.slice(1)) await replica.close();
    await replicas[0]!.close();
  });

  it('decides each review past its decision deadline exactly once, as system:sla, after its decision_overdue', async () => {
    const [t] = replicas as [TestApp];
    const engineers = await Promise.all(Array.from({ length: 4 }, () => createEngineer(t, { maxConcurrentReviews: 10 })));
    const incidents = await Promise.all(Array.from({ length: 12 }, () => createIncident(t)));
    const reviews = await Promise.all(
      incidents.map((incident, index) => assignAndSubmit(() => t.baseUrl, incident.id, engineers[index % 4]!.id)),
    );
    const waiter = call(replicas[2]!.baseUrl, 'GET', `/api/v1/incidents/${incidents[0]!.id}/decision?waitSeconds=30`, adminToken());
    // Explicit passes on every replica at once, on top of their schedulers, to make them collide.
    for (let round = 0; round < 4; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const runs = await Promise.all(replicas.map((replica) => call(replica.baseUrl, 'POST', '/api/v1/sla/escalations/run', adminToken())));
      expect(runs.every((res) => res.status === 200)).toBe(true);
    }
    for (let attempt = 0; ; attempt += 1) {
      const { rows } = await t.sql.query(`SELECT count(*)::int AS open FROM reviews WHERE id = ANY($1::uuid[]) AND status = 'submitted'`, [
        reviews,
      ]);
      if (rows[0].open === 0) break;
      if (attempt > 100) throw new Error(`${rows[0].open} reviews still undecided after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect((await waiter).body).toMatchObject({
      state: 'decided',
      decision: 'ai_approach',
      decidedBy: 'system:sla',
      rationale: 'decision deadline passed',
    });
    for (const [index, reviewId] of reviews.entries()) {
      const review = (await call(t.baseUrl, 'GET', `/api/v1/reviews/${reviewId}`, adminToken())).body;
      expect(review).toMatchObject({
        status: 'rejected',
        decision: 'ai_approach',
        decidedBy: 'system:sla',
        decisionRationale: 'decision deadline passed',
      });
      expect(review.decisionOverdueAt).not.toBeNull();
      const audit = await t.sql.query(
        `SELECT action::text, actor_sub FROM audit_entries WHERE entity_id = ANY($1::uuid[]) AND action IN ('review.decision_overdue', 'review.decided', 'incident.decided') ORDER BY seq`,
        [[reviewId, incidents[index]!.id]],
      );
      expect(audit.rows).toEqual([
        { action: 'review.decision_overdue', actor_sub: 'system:sla' },
        { action: 'review.decided', actor_sub: 'system:sla' },
        { action: 'incident.decided', actor_sub: 'system:sla' },
      ]);
      const events = await t.sql.query(`SELECT type FROM review_events WHERE review_id = $1 ORDER BY seq`, [reviewId]);
      expect(events.rows.map((row) => row.type).slice(-2)).toEqual(['review.decision_overdue', 'review.decided']);
    }
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS decided FROM engineers WHERE current_review_count <> 0 AND id = ANY($1::uuid[])`,
      [engineers.map((engineer) => engineer.id)],
    );
    expect(rows[0].decided, 'every engineer released once').toBe(0);
    const decisions = await Promise.all(
      replicas.map(async (replica) => {
        const text = await (await fetch(`${replica.baseUrl}/metrics`)).text();
        return Number(/^review_decisions_total\{decision_type="ai_approach",source="deadline"\} (\d+)$/m.exec(text)?.[1]);
      }),
    );
    expect(
      decisions.reduce((sum, count) => sum + count, 0),
      'deadline decisions counted over the replicas',
    ).toBe(12);
  });
});
