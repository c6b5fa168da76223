import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Prisma, PrismaService, type ReviewPriority } from '@app/database';
import { claimDecisionOverdueSql, claimDueForEscalationSql } from '@app/reviews';

import { createEngineer, createIncident } from '../support/factories.js';
import { call } from '../support/http-client.js';
import { invariantViolations } from '../support/invariants.js';
import { adminToken, bearer, engineerToken, serviceToken, startAppOn, startTestApp, type TestApp } from '../support/test-app.js';

const admin = bearer(adminToken());
const HOUR = 3600;
// Events are written to the outbox (and checked there); nothing is delivered.
const WEBHOOKS = { WEBHOOK_URL: 'http://127.0.0.1:1/hooks', WEBHOOK_SECRET: 'sla-test-webhook-secret', WEBHOOK_DELIVERY_ENABLED: 'false' };

async function assign(t: TestApp, engineerId: string, priority: ReviewPriority = 'normal'): Promise<Record<string, any>> {
  const incident = await createIncident(t);
  const res = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId, priority });
  if (res.status !== 201) throw new Error(`assign: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Moves the deadline `seconds` into the past: the clock of these tests. */
async function overdueBy(t: TestApp, reviewIds: string[], seconds: number): Promise<void> {
  await t.sql.query('UPDATE reviews SET expected_completion_at = now() - make_interval(secs => $2) WHERE id = ANY($1::uuid[])', [
    reviewIds,
    seconds,
  ]);
}

async function runPass(t: { http: TestApp['http'] }): Promise<{ escalated: number; reassigned: number }> {
  const res = await t.http.post('/api/v1/sla/escalations/run').set(admin);
  expect(res.status).toBe(200);
  return res.body;
}

async function review(t: TestApp, id: string): Promise<Record<string, any>> {
  return (await t.http.get(`/api/v1/reviews/${id}`).set(admin)).body;
}

/** The review's audit trail as "action" or "action:level" for escalations, in seq order. */
async function auditTrail(t: TestApp, reviewId: string): Promise<string[]> {
  const { rows } = await t.sql.query<{ action: string; level: string | null }>(
    `SELECT action::text, CASE WHEN action = 'review.escalated' THEN after->>'escalationLevel' END AS level
     FROM audit_entries WHERE entity_id = $1 ORDER BY seq`,
    [reviewId],
  );
  return rows.map((row) => (row.level ? `${row.action}:${row.level}` : row.action));
}

async function webhookTrail(t: TestApp, reviewId: string): Promise<string[]> {
  const { rows } = await t.sql.query<{ type: string; level: number }>(
    `SELECT type, (payload->>'escalationLevel')::int AS level FROM webhook_events WHERE review_id = $1 ORDER BY occurred_at, id`,
    [reviewId],
  );
  return rows.map((row) => (row.type === 'review.escalated' ? `${row.type}:${row.level}` : row.type));
}

describe('SLA escalation', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A 1-second interval that must never fire: SCHEDULER_ENABLED=false (startTestApp's default).
    t = await startTestApp({ ...WEBHOOKS, ESCALATION_BATCH_SIZE: '3', ESCALATION_INTERVAL_SECONDS: '1' });
  });
  afterAll(async () => t.close());

  it('only admins may run a pass', async () => {
    const engineer = await createEngineer(t);
    expect((await t.http.post('/api/v1/sla/escalations/run')).status).toBe(401);
    expect((await t.http.post('/api/v1/sla/escalations/run').set(bearer(serviceToken()))).status).toBe(403);
    expect((await t.http.post('/api/v1/sla/escalations/run').set(bearer(engineerToken(engineer.id)))).status).toBe(403);
  });

  it('with SCHEDULER_ENABLED=false nothing escalates by itself', async () => {
    const engineer = await createEngineer(t);
    const pending = await assign(t, engineer.id);
    await overdueBy(t, [pending.id], 60);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await review(t, pending.id)).toMatchObject({ overdue: true, escalationLevel: 0, lastEscalatedAt: null });
    expect(await runPass(t)).toEqual({ escalated: 1, reassigned: 0 });
  });

  it('level 1 once an overdue review is found, as system:sla, with one event; never twice', async () => {
    const engineer = await createEngineer(t);
    const onTime = await assign(t, engineer.id);
    const late = await assign(t, engineer.id);
    await overdueBy(t, [late.id], 60);

    expect(await runPass(t)).toEqual({ escalated: 1, reassigned: 0 });
    const escalated = await review(t, late.id);
    expect(escalated).toMatchObject({ escalationLevel: 1, overdue: true, status: 'assigned', engineerId: engineer.id });
    expect(escalated.lastEscalatedAt).not.toBeNull();
    expect((await review(t, onTime.id)).escalationLevel).toBe(0);

    const { rows } = await t.sql.query(
      `SELECT actor_sub, actor_roles, request_id, before->>'escalationLevel' AS before_level, after FROM audit_entries
       WHERE entity_id = $1 AND action = 'review.escalated'`,
      [late.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_sub: 'system:sla', actor_roles: ['system'], request_id: null, before_level: '0' });
    expect(rows[0].after).toEqual({ ...escalated, updatedAt: rows[0].after.updatedAt });

    expect(await runPass(t)).toEqual({ escalated: 0, reassigned: 0 });
    expect(await auditTrail(t, late.id)).toEqual(['review.assigned', 'review.escalated:1']);
    expect(await webhookTrail(t, late.id)).toEqual(['review.assigned', 'review.escalated:1']);
  });

  it('level 2 comes half the SLA after the deadline by default, once, and leaves the review where it is', async () => {
    const engineer = await createEngineer(t);
    const late = await assign(t, engineer.id, 'normal');
    await overdueBy(t, [late.id], 11 * HOUR);
    expect(await runPass(t)).toEqual({ escalated: 1, reassigned: 0 });
    expect((await review(t, late.id)).escalationLevel).toBe(1);

    await overdueBy(t, [late.id], 12 * HOUR + 60);
    expect(await runPass(t)).toEqual({ escalated: 1, reassigned: 0 });
    expect(await runPass(t)).toEqual({ escalated: 0, reassigned: 0 });
    expect(await review(t, late.id)).toMatchObject({ escalationLevel: 2, status: 'assigned', engineerId: engineer.id });
    expect(await auditTrail(t, late.id)).toEqual(['review.assigned', 'review.escalated:1', 'review.escalated:2']);
    expect(await webhookTrail(t, late.id)).toEqual(['review.assigned', 'review.escalated:1', 'review.escalated:2']);
  });

  it('a review already past both thresholds gets level 1 then level 2 in one pass; the grace is per priority', async () => {
    const engineer = await createEngineer(t);
    const critical = await assign(t, engineer.id, 'critical');
    const normal = await assign(t, engineer.id, 'normal');
    // 31 minutes late: past half of critical's 1 h SLA, not past half of normal's 24 h.
    await overdueBy(t, [critical.id, normal.id], 31 * 60);

    expect(await runPass(t)).toEqual({ escalated: 3, reassigned: 0 });
    expect(await auditTrail(t, critical.id)).toEqual(['review.assigned', 'review.escalated:1', 'review.escalated:2']);
    expect(await webhookTrail(t, critical.id)).toEqual(['review.assigned', 'review.escalated:1', 'review.escalated:2']);
    expect(await auditTrail(t, normal.id)).toEqual(['review.assigned', 'review.escalated:1']);
  });

  it('a pass works through every batch (batch size 3 here)', async () => {
    const engineer = await createEngineer(t, { maxConcurrentReviews: 10 });
    const reviews = [];
    for (let i = 0; i < 10; i += 1) reviews.push(await assign(t, engineer.id));
    await overdueBy(
      t,
      reviews.map((r) => r.id),
      60,
    );
    expect(await runPass(t)).toEqual({ escalated: 10, reassigned: 0 });
    const { rows } = await t.sql.query('SELECT DISTINCT escalation_level FROM reviews WHERE id = ANY($1::uuid[])', [
      reviews.map((r) => r.id),
    ]);
    expect(rows).toEqual([{ escalation_level: 1 }]);
  });

  it('submitted reviews are not escalated; a decision waiting DECISION_SLA_SECONDS is marked overdue once', async () => {
    const engineer = await createEngineer(t);
    const mine = bearer(engineerToken(engineer.id));
    const fresh = await assign(t, engineer.id);
    const waiting = await assign(t, engineer.id);
    for (const r of [fresh, waiting]) {
      expect((await t.http.post(`/api/v1/reviews/${r.id}/submit`).set(mine).send({ approach: 'Roll back' })).status).toBe(200);
    }
    await overdueBy(t, [fresh.id, waiting.id], 13 * HOUR);
    await t.sql.query(`UPDATE reviews SET submitted_at = now() - interval '61 minutes' WHERE id = $1`, [waiting.id]);

    expect(await runPass(t)).toEqual({ escalated: 0, reassigned: 0 });
    expect(await runPass(t)).toEqual({ escalated: 0, reassigned: 0 });
    const marked = await review(t, waiting.id);
    expect(marked).toMatchObject({ status: 'submitted', escalationLevel: 0 });
    expect(marked.decisionOverdueAt).not.toBeNull();
    expect(await review(t, fresh.id)).toMatchObject({ decisionOverdueAt: null, escalationLevel: 0 });
    expect(await auditTrail(t, waiting.id)).toEqual(['review.assigned', 'review.submitted', 'review.decision_overdue']);
    expect(await webhookTrail(t, waiting.id)).toEqual(['review.assigned', 'review.submitted', 'review.decision_overdue']);
    const { rows } = await t.sql.query(
      `SELECT actor_sub, request_id FROM audit_entries WHERE entity_id = $1 AND action = 'review.decision_overdue'`,
      [waiting.id],
    );
    expect(rows).toEqual([{ actor_sub: 'system:sla', request_id: null }]);
  });

  it("the claim queries match the partial indexes' predicates", async () => {
    const prisma = t.app.get(PrismaService);
    const explain = (query: Prisma.Sql) =>
      prisma.$transaction(async (tx) => {
        // Without sequential scans, only an index whose predicate the WHERE clause implies can serve the query.
        await tx.$executeRaw`SET LOCAL enable_seqscan = off`;
        await tx.$executeRaw`SET LOCAL enable_bitmapscan = off`;
        const plan = await tx.$queryRaw<{ 'QUERY PLAN': string }[]>`EXPLAIN ${query}`;
        return plan.map((line) => line['QUERY PLAN']).join('\n');
      });
    const none = { critical: 0, high: 0, normal: 0, low: 0 };
    const perPriority = { critical: 1800, high: 7200, normal: 43200, low: 129600 };
    const after = { at: new Date(), id: '00000000-0000-4000-8000-000000000000' };
    expect(await explain(claimDueForEscalationSql({ fromLevel: 0, graceSeconds: none, after: null }, 200))).toContain(
      'reviews_escalation_due_idx',
    );
    expect(await explain(claimDueForEscalationSql({ fromLevel: 1, graceSeconds: perPriority, after }, 200))).toContain(
      'reviews_escalation_due_idx',
    );
    expect(await explain(claimDecisionOverdueSql(3600, after, 200))).toContain('reviews_decision_wait_idx');
  });

  it('leaves the workload invariants intact', async () => {
    expect(await invariantViolations(t.sql)).toEqual([]);
  });
});

describe('SLA escalation with ESCALATION_AUTO_REASSIGN=true', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...WEBHOOKS, ESCALATION_AUTO_REASSIGN: 'true', ESCALATION_LEVEL2_AFTER_SECONDS: '600' });
  });
  afterAll(async () => t.close());

  it('level 2 reassigns to the best other available engineer with the expertise; capacity is respected', async () => {
    const holder = await createEngineer(t, { expertise: ['postgres'], maxConcurrentReviews: 2 });
    await createEngineer(t, { expertise: ['postgres'], status: 'on_leave' });
    await createEngineer(t, { expertise: ['redis'] });
    const full = await createEngineer(t, { expertise: ['postgres'], maxConcurrentReviews: 1 });
    const spare = await createEngineer(t, { expertise: ['postgres'], maxConcurrentReviews: 1 });
    const incidents = [
      await createIncident(t, { requiredExpertise: ['postgres'] }),
      await createIncident(t, { requiredExpertise: ['postgres'] }),
    ];
    const assignTo = async (incidentId: string, engineerId: string) =>
      (await t.http.post('/api/v1/reviews').set(admin).send({ incidentId, engineerId, priority: 'high' })).body;
    const [first, second] = [await assignTo(incidents[0]!.id, holder.id), await assignTo(incidents[1]!.id, holder.id)];
    await assignTo((await createIncident(t)).id, full.id);

    await overdueBy(t, [first.id], 601);
    expect(await runPass(t)).toEqual({ escalated: 2, reassigned: 1 });
    const old = await review(t, first.id);
    expect(old).toMatchObject({ status: 'cancelled', cancellationReason: 'escalation', escalationLevel: 2 });
    const incident = (await t.http.get(`/api/v1/incidents/${incidents[0]!.id}`).set(admin)).body;
    const moved = await review(t, incident.openReviewId);
    expect(moved).toMatchObject({
      engineerId: spare.id,
      status: 'assigned',
      escalationLevel: 0,
      overdue: false,
      priority: 'high',
      reassignedFromId: first.id,
      assignment: { strategy: 'escalation', assignedBy: 'system:sla', candidates: 1, loadRatio: 0 },
    });
    expect(new Date(moved.expectedCompletionAt).getTime() - new Date(moved.assignedAt).getTime()).toBe(4 * HOUR * 1000);
    expect(await auditTrail(t, first.id)).toEqual(['review.assigned', 'review.escalated:1', 'review.escalated:2', 'review.reassigned']);
    expect(await webhookTrail(t, first.id)).toEqual(['review.assigned', 'review.escalated:1', 'review.escalated:2', 'review.reassigned']);
    expect(await auditTrail(t, moved.id)).toEqual(['review.assigned']);

    // Now every other engineer with the expertise is full or on leave: level 2 is recorded, nothing moves.
    await overdueBy(t, [second.id], 601);
    expect(await runPass(t)).toEqual({ escalated: 2, reassigned: 0 });
    expect(await review(t, second.id)).toMatchObject({ status: 'assigned', engineerId: holder.id, escalationLevel: 2 });
    expect(await runPass(t)).toEqual({ escalated: 0, reassigned: 0 });

    const engineers = await Promise.all(
      [holder, full, spare].map(async (e) => (await t.http.get(`/api/v1/engineers/${e.id}`).set(admin)).body),
    );
    expect(engineers.map((e) => e.currentReviewCount)).toEqual([1, 1, 1]);
    expect((await t.http.get('/api/v1/admin/workload/drift').set(admin)).body.drifted).toEqual([]);
    expect(await invariantViolations(t.sql)).toEqual([]);
  });
});

describe('SLA escalation across concurrent replicas', () => {
  const REVIEWS = 64;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  /** 64 reviews on 16 full engineers; the first half overdue past level 1 only, the second half past both levels. */
  async function seed(spareEngineers: number): Promise<{ levelOne: string[]; levelTwo: string[] }> {
    const holders = await Promise.all(Array.from({ length: REVIEWS / 4 }, () => createEngineer(t, { maxConcurrentReviews: 4 })));
    await Promise.all(Array.from({ length: spareEngineers }, () => createEngineer(t, { maxConcurrentReviews: 3 })));
    const ids = (await Promise.all(holders.flatMap((holder) => [1, 2, 3, 4].map(() => assign(t, holder.id))))).map((r) => r.id);
    const levelOne = ids.filter((_, i) => i % 2 === 0);
    const levelTwo = ids.filter((_, i) => i % 2 === 1);
    await overdueBy(t, levelOne, 60);
    await overdueBy(t, levelTwo, 13 * HOUR);
    return { levelOne, levelTwo };
  }

  /** Three replicas, each running two passes at once: six concurrent passes over the same rows. */
  async function runEverywhere(env: Record<string, string>): Promise<{ escalated: number; reassigned: number }> {
    const replicas = await Promise.all(
      [1, 2, 3].map(() => startAppOn(t.databaseName, t.sql, { ...WEBHOOKS, DATABASE_POOL_MAX: '8', ESCALATION_BATCH_SIZE: '5', ...env })),
    );
    try {
      const results = await Promise.all(
        replicas.flatMap((replica) => [1, 2].map(() => call(replica.baseUrl, 'POST', '/api/v1/sla/escalations/run', adminToken()))),
      );
      expect(results.map((r) => r.status)).toEqual(Array(6).fill(200));
      return {
        escalated: results.reduce((sum, r) => sum + r.body.escalated, 0),
        reassigned: results.reduce((sum, r) => sum + r.body.reassigned, 0),
      };
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  }

  /** Audit entries and webhook events of 'review.escalated', counted per review and level. */
  async function escalationsPerLevel(ids: string[]): Promise<{ audit: Record<string, number>; events: Record<string, number> }> {
    const audit = await t.sql.query<{ key: string; n: number }>(
      `SELECT entity_id || ':' || (after->>'escalationLevel') AS key, count(*)::int AS n FROM audit_entries
       WHERE action = 'review.escalated' AND entity_id = ANY($1::uuid[]) GROUP BY 1`,
      [ids],
    );
    const events = await t.sql.query<{ key: string; n: number }>(
      `SELECT review_id || ':' || (payload->>'escalationLevel') AS key, count(*)::int AS n FROM webhook_events
       WHERE type = 'review.escalated' AND review_id = ANY($1::uuid[]) GROUP BY 1`,
      [ids],
    );
    return {
      audit: Object.fromEntries(audit.rows.map((row) => [row.key, row.n])),
      events: Object.fromEntries(events.rows.map((row) => [row.key, row.n])),
    };
  }

  function exactlyOnce(levelOne: string[], levelTwo: string[]): Record<string, number> {
    return Object.fromEntries(
      [...levelOne.map((id) => `${id}:1`), ...levelTwo.flatMap((id) => [`${id}:1`, `${id}:2`])].map((key) => [key, 1]),
    );
  }

  it(`six passes at once over ${REVIEWS} overdue reviews: each level exactly once per review`, async () => {
    const { levelOne, levelTwo } = await seed(0);
    expect(await runEverywhere({})).toEqual({ escalated: REVIEWS + REVIEWS / 2, reassigned: 0 });
    const expected = exactlyOnce(levelOne, levelTwo);
    expect(await escalationsPerLevel([...levelOne, ...levelTwo])).toEqual({ audit: expected, events: expected });
    expect(await invariantViolations(t.sql)).toEqual([]);
  });

  it('with auto-reassign: each level once, each level-2 review moved at most once, nobody over capacity', async () => {
    const { levelOne, levelTwo } = await seed(4);
    const totals = await runEverywhere({ ESCALATION_AUTO_REASSIGN: 'true' });
    expect(totals.escalated).toBe(REVIEWS + REVIEWS / 2);
    const expected = exactlyOnce(levelOne, levelTwo);
    expect(await escalationsPerLevel([...levelOne, ...levelTwo])).toEqual({ audit: expected, events: expected });

    const { rows: moves } = await t.sql.query<{ from_id: string; n: number }>(
      `SELECT reassigned_from_id::text AS from_id, count(*)::int AS n FROM reviews
       WHERE assignment_strategy = 'escalation' AND reassigned_from_id = ANY($1::uuid[]) GROUP BY 1`,
      [levelTwo],
    );
    expect(moves.every((move) => move.n === 1)).toBe(true);
    expect(moves.length).toBe(totals.reassigned);
    expect(totals.reassigned).toBeGreaterThan(0);
    const { rows: left } = await t.sql.query<{ status: string; n: number }>(
      `SELECT status::text, count(*)::int AS n FROM reviews WHERE id = ANY($1::uuid[]) GROUP BY 1`,
      [levelTwo],
    );
    expect(Object.fromEntries(left.map((row) => [row.status, row.n]))).toEqual(
      totals.reassigned === levelTwo.length
        ? { cancelled: levelTwo.length }
        : { cancelled: totals.reassigned, assigned: levelTwo.length - totals.reassigned },
    );
    const { rows: audits } = await t.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_entries WHERE action = 'review.reassigned' AND actor_sub = 'system:sla' AND entity_id = ANY($1::uuid[])`,
      [levelTwo],
    );
    expect(audits[0]!.n).toBe(totals.reassigned);
    const drift = await call(t.baseUrl, 'GET', '/api/v1/admin/workload/drift', adminToken());
    expect(drift.body.drifted).toEqual([]);
    expect(await invariantViolations(t.sql)).toEqual([]);
  });
});

describe('SLA scheduler with SCHEDULER_ENABLED=true', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      SCHEDULER_ENABLED: 'true',
      ESCALATION_INTERVAL_SECONDS: '1',
      SLA_NORMAL_SECONDS: '1',
      ESCALATION_LEVEL2_AFTER_SECONDS: '1',
    });
  });
  afterAll(async () => t.close());

  it('escalates on its own, level 1 then level 2, each once', async () => {
    const engineer = await createEngineer(t);
    const late = await assign(t, engineer.id);
    const deadline = Date.now() + 10_000;
    while ((await review(t, late.id)).escalationLevel < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await review(t, late.id)).escalationLevel).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await auditTrail(t, late.id)).toEqual(['review.assigned', 'review.escalated:1', 'review.escalated:2']);
  });
});
