import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DecisionWaiters } from '@app/reviews';

import { auditOf } from '../support/audit.js';
import { assignReview, createEngineer, createIncident } from '../support/factories.js';
import { call } from '../support/http-client.js';
import { assignAndSubmit, decide } from '../support/review-flow.js';
import { adminToken, engineerToken, serviceToken, startAppOn, startTestApp, type TestApp } from '../support/test-app.js';

const decisionOf = (baseUrl: string, incidentId: string, waitSeconds = 0, token = adminToken()): ReturnType<typeof call> =>
  call(baseUrl, 'GET', `/api/v1/incidents/${incidentId}/decision?waitSeconds=${waitSeconds}`, token);

/** Polls until `count` requests of this replica are held, so a test decides only once they wait. */
async function untilWaiting(t: TestApp, count: number): Promise<void> {
  const waiters = t.app.get(DecisionWaiters);
  for (let attempt = 0; waiters.waiting < count; attempt += 1) {
    if (attempt > 200) throw new Error(`only ${waiters.waiting} of ${count} waiters after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls until another backend of the test database waits for a lock that `holder` holds. */
async function untilLockWaits(t: TestApp, holder: pg.PoolClient): Promise<void> {
  const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  for (let attempt = 0; ; attempt += 1) {
    const { rows: waiting } = await t.sql.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))', [rows[0]!.pid]);
    if (waiting.length > 0) return;
    if (attempt > 200) throw new Error('nothing waited for the lock within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('GET /api/v1/incidents/{id}/decision', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ DECISION_SLA_SECONDS: '600' });
    b = await startAppOn(a.databaseName, a.sql, { DECISION_SLA_SECONDS: '600' });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('shows the state from awaiting_review to decided, with the diff, votes and deadline', async () => {
    const engineer = await createEngineer(a);
    const other = await createEngineer(a);
    const incident = await createIncident(a, { aiProposal: 'Restart the primary\nWatch the replicas' });
    expect((await decisionOf(a.baseUrl, incident.id)).body).toMatchObject({
      incidentId: incident.id,
      reviewId: null,
      state: 'awaiting_review',
      decision: null,
      approach: null,
      diff: null,
      votes: [],
      requiredVotes: 1,
      deadlineAt: null,
    });
    const reviewId = await assignAndSubmit(() => a.baseUrl, incident.id, engineer.id, {
      approach: 'Fail over to the replica\nWatch the replicas',
    });
    const waiting = await decisionOf(a.baseUrl, incident.id, 0, engineerToken(engineer.id));
    expect(waiting.status).toBe(200);
    expect(waiting.body).toMatchObject({
      reviewId,
      state: 'awaiting_decision',
      approach: 'Fail over to the replica\nWatch the replicas',
      diff: '-Restart the primary\n+Fail over to the replica\n Watch the replicas',
    });
    const review = (await call(a.baseUrl, 'GET', `/api/v1/reviews/${reviewId}`, adminToken())).body;
    expect(waiting.body.deadlineAt).toBe(new Date(Date.parse(review.submittedAt) + 600_000).toISOString());
    expect((await decisionOf(a.baseUrl, incident.id, 0, engineerToken(other.id))).status).toBe(404);

    expect((await decide(a.baseUrl, incident.id, 'ai_approach')).status).toBe(200);
    const decided = await decisionOf(b.baseUrl, incident.id, 0, serviceToken());
    expect(decided.body).toMatchObject({
      state: 'decided',
      decision: 'ai_approach',
      decidedBy: 'admin-1',
      rationale: 'Safer',
      deadlineAt: null,
    });
    expect(decided.body.decidedAt).toEqual(expect.any(String));
  });

  it('decides on a review submitted while the decision waited for the incident', async () => {
    const engineer = await createEngineer(a);
    const incident = await createIncident(a);
    const review = await assignReview(a, incident.id, engineer.id);
    expect((await call(a.baseUrl, 'POST', `/api/v1/reviews/${review.id}/start`, engineerToken(engineer.id))).status).toBe(200);
    // Another transaction holds the incident (an assign or cancel in flight would): the decision waits.
    const holder = await a.sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM incidents WHERE id = $1 FOR NO KEY UPDATE', [incident.id]);
      const decision = decide(a.baseUrl, incident.id);
      await untilLockWaits(a, holder);
      const submitted = await call(a.baseUrl, 'POST', `/api/v1/reviews/${review.id}/submit`, engineerToken(engineer.id), {
        approach: 'Fail over to the replica',
      });
      expect(submitted.status).toBe(200);
      await holder.query('COMMIT');
      const decided = await decision;
      expect(decided.status, JSON.stringify(decided.body)).toBe(200);
      expect(decided.body).toMatchObject({ id: review.id, status: 'accepted', decision: 'engineer_approach' });
    } finally {
      holder.release();
    }
  });

  it('holds a waiter on one replica until a decision made on another wakes it, within a second', async () => {
    const engineer = await createEngineer(a);
    const incident = await createIncident(a);
    await assignAndSubmit(() => a.baseUrl, incident.id, engineer.id);
    const held = decisionOf(b.baseUrl, incident.id, 30);
    await untilWaiting(b, 1);
    const decision = await decide(a.baseUrl, incident.id);
    const decidedAt = Date.now();
    expect(decision.status).toBe(200);
    const answer = await held;
    expect(Date.now() - decidedAt).toBeLessThan(1_000);
    expect(answer.body).toMatchObject({ state: 'decided', decision: 'engineer_approach' });
  });

  it('still wakes a waiter whose replica lost its LISTEN connection when the decision was made', async () => {
    const engineer = await createEngineer(a);
    const incident = await createIncident(a);
    await assignAndSubmit(() => a.baseUrl, incident.id, engineer.id);
    const held = decisionOf(b.baseUrl, incident.id, 30);
    await untilWaiting(b, 1);
    const { rowCount } = await a.sql.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'engineer-review-service:listen'`,
    );
    expect(rowCount).toBe(2);
    expect((await decide(a.baseUrl, incident.id)).status).toBe(200);
    const decidedAt = Date.now();
    expect((await held).body.state).toBe('decided');
    expect(Date.now() - decidedAt, 'reconnected within a second or two, then woken to re-read').toBeLessThan(5_000);
  });

  it('answers the state as it stands when waitSeconds pass without a decision, and rejects waitSeconds over 60', async () => {
    const incident = await createIncident(a);
    const started = Date.now();
    const answer = await decisionOf(a.baseUrl, incident.id, 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(answer.body.state).toBe('awaiting_review');
    for (const bad of ['61', '-1', '1.5', '']) {
      expect((await call(a.baseUrl, 'GET', `/api/v1/incidents/${incident.id}/decision?waitSeconds=${bad}`, adminToken())).status).toBe(400);
    }
  });

  it('holds 100 waiters on two replicas without holding connections, keeps answering other requests, and wakes them all', async () => {
    const engineer = await createEngineer(a);
    const incident = await createIncident(a);
    await assignAndSubmit(() => a.baseUrl, incident.id, engineer.id);
    const held = Array.from({ length: 100 }, (_, index) => decisionOf(index % 2 ? a.baseUrl : b.baseUrl, incident.id, 30));
    await untilWaiting(a, 50);
    await untilWaiting(b, 50);

    const { rows } = await a.sql.query<{ busy: number }>(
      `SELECT count(*)::int AS busy FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`,
    );
    expect(rows[0]!.busy, 'no connection busy on behalf of the waiters').toBeLessThanOrEqual(2);
    const started = Date.now();
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, index) => call(index % 2 ? a.baseUrl : b.baseUrl, 'GET', '/api/v1/engineers', adminToken())),
    );
    expect(others.every((res) => res.status === 200)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);

    expect((await decide(a.baseUrl, incident.id)).status).toBe(200);
    const decidedAt = Date.now();
    const answers = await Promise.all(held);
    expect(Date.now() - decidedAt).toBeLessThan(1_500);
    expect(answers.every((res) => res.status === 200 && res.body.state === 'decided')).toBe(true);
  });

  it('releases waiters with the state as it stands when their replica shuts down', async () => {
    const replica = await startAppOn(a.databaseName, a.sql);
    const incident = await createIncident(a);
    const held = decisionOf(replica.baseUrl, incident.id, 30);
    await untilWaiting(replica, 1);
    const started = Date.now();
    await replica.close();
    const answer = await held;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(answer.status).toBe(200);
    expect(answer.body.state).toBe('awaiting_review');
  });
});

describe('decision quorum (DECISION_APPROVALS_NORMAL=2)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ DECISION_APPROVALS_NORMAL: '2' });
  });
  afterAll(async () => t.close());

  it('answers 202 with the votes until one value has two, refuses a second vote of one admin, and lets the reaching vote decide', async () => {
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const reviewId = await assignAndSubmit(() => t.baseUrl, incident.id, engineer.id);

    const first = await decide(t.baseUrl, incident.id, 'engineer_approach', 'admin-1');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      state: 'awaiting_decision',
      requiredVotes: 2,
      votes: [{ adminSub: 'admin-1', decision: 'engineer_approach', rationale: 'Safer' }],
    });
    expect((await decide(t.baseUrl, incident.id, 'ai_approach', 'admin-1')).body.code).toBe('ALREADY_VOTED');
    const split = await decide(t.baseUrl, incident.id, 'ai_approach', 'admin-2');
    expect(split.status).toBe(202);
    expect(split.body.votes.map((vote: { adminSub: string }) => vote.adminSub)).toEqual(['admin-1', 'admin-2']);

    const deciding = await decide(t.baseUrl, incident.id, 'engineer_approach', 'admin-3');
    expect(deciding.status).toBe(200);
    expect(deciding.body).toMatchObject({ id: reviewId, status: 'accepted', decidedBy: 'admin-3' });
    expect((await decide(t.baseUrl, incident.id, 'engineer_approach', 'admin-4')).body.code).toBe('DECISION_ALREADY_MADE');

    const audit = await auditOf(t, reviewId);
    expect(audit.map((entry) => entry.action)).toEqual([
      'review.assigned',
      'review.started',
      'review.submitted',
      'review.voted',
      'review.voted',
      'review.decided',
    ]);
    expect(audit[4]!.after).toMatchObject({ id: reviewId, status: 'submitted', votes: [{ adminSub: 'admin-1' }, { adminSub: 'admin-2' }] });
    expect((await call(t.baseUrl, 'GET', `/api/v1/incidents/${incident.id}/decision`, adminToken())).body.votes).toHaveLength(3);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toContain('review_decision_votes_total{decision_type="engineer_approach"} 1');
    expect(metrics).toContain('review_decision_votes_total{decision_type="ai_approach"} 1');
    expect(metrics).toContain('review_decisions_total{decision_type="engineer_approach",source="admin"} 1');
  });

  it('keeps the check order: NO_SUBMITTED_REVIEW, then SELF_DECISION_FORBIDDEN before ALREADY_VOTED', async () => {
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    expect((await decide(t.baseUrl, incident.id)).body.code).toBe('NO_SUBMITTED_REVIEW');
    await assignAndSubmit(() => t.baseUrl, incident.id, engineer.id);
    expect((await decide(t.baseUrl, incident.id, 'engineer_approach', engineer.id)).body.code).toBe('SELF_DECISION_FORBIDDEN');
  });

  it('discards the votes when the review is cancelled', async () => {
    const engineer = await createEngineer(t);
    const incident = await createIncident(t);
    const reviewId = await assignAndSubmit(() => t.baseUrl, incident.id, engineer.id);
    expect((await decide(t.baseUrl, incident.id)).status).toBe(202);
    expect((await call(t.baseUrl, 'POST', `/api/v1/reviews/${reviewId}/cancel`, adminToken(), { reason: 'wrong engineer' })).status).toBe(
      200,
    );
    const { rows } = await t.sql.query('SELECT count(*)::int AS votes FROM review_votes WHERE review_id = $1', [reviewId]);
    expect(rows[0].votes).toBe(0);
  });

  it('decides exactly once when two admins cast the deciding vote at the same moment', async () => {
    const engineer = await createEngineer(t, { maxConcurrentReviews: 20 });
    const incidents = await Promise.all(Array.from({ length: 10 }, () => createIncident(t)));
    const reviews = await Promise.all(incidents.map((incident) => assignAndSubmit(() => t.baseUrl, incident.id, engineer.id)));
    for (const incident of incidents) expect((await decide(t.baseUrl, incident.id, 'ai_approach', 'admin-1')).status).toBe(202);
    const races = await Promise.all(
      incidents.map((incident) =>
        Promise.all([decide(t.baseUrl, incident.id, 'ai_approach', 'admin-2'), decide(t.baseUrl, incident.id, 'ai_approach', 'admin-3')]),
      ),
    );
    for (const pair of races) {
      expect(pair.map((res) => res.status).sort()).toEqual([200, 409]);
      expect(pair.find((res) => res.status === 409)!.body.code).toBe('DECISION_ALREADY_MADE');
    }
    for (const reviewId of reviews) {
      const actions = (await auditOf(t, reviewId)).map((entry) => entry.action);
      expect(actions.filter((action) => action === 'review.decided')).toHaveLength(1);
      expect(actions.filter((action) => action === 'review.voted')).toHaveLength(1);
    }
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS decided FROM review_events WHERE type = 'review.decided' AND review_id = ANY($1::uuid[])`,
      [reviews],
    );
    expect(rows[0].decided).toBe(10);
  });
});
