// `npm run bench:escalation`: times one full SLA escalation pass over a large database.
//
// Creates a scratch database on the server of DATABASE_URL (default: the local PostgreSQL), migrates
// it, seeds by SQL 10 000 engineers, 1 000 000 incidents and 1 000 000 reviews (100 000 of them
// overdue, a tenth of those also past the level-2 threshold, and 5 000 submitted reviews waiting too
// long for a decision), keeping the invariants (one open review per incident, counters equal to open
// reviews and within capacity). It prints the claim queries' plans, boots the service against the
// database with the scheduler off, times one pass of its EscalationService (what
// POST /api/v1/sla/escalations/run runs), checks the outcome and drops the database. Sizes can be
// scaled down with BENCH_SCALE (e.g. 0.1) for a quick run. With BENCH_WEBHOOKS=true, WEBHOOK_URL is
// set, so the pass also writes every event to the webhook outbox (delivery itself stays off).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { applyMigrations } from '@app/prisma-engine';

import { createDatabase, databaseUrlFor, dropDatabase } from './lib/database.mjs';

// The service's TypeScript sources are loaded through the same loader `npm start` uses.
await import('@swc-node/register/esm-register');
const { loadAppConfig } = await import('../libs/config/src/index.ts');
const { claimDecisionOverdueSql, claimDueForEscalationSql } = await import('../libs/reviews/src/index.ts');
const { createApp } = await import('../apps/api/src/create-app.ts');
const { EscalationService } = await import('../libs/sla/src/index.ts');

const SCALE = Number(process.env.BENCH_SCALE ?? '1');
if (!(SCALE > 0 && SCALE <= 1)) throw new Error('BENCH_SCALE must be in (0, 1]');
const ENGINEERS = Math.round(10_000 * SCALE);
const REVIEWS = ENGINEERS * 100;
const OVERDUE = ENGINEERS * 10;
const NOT_DUE = ENGINEERS * 5;
const SUBMITTED = ENGINEERS * 2;
const OPEN = OVERDUE + NOT_DUE + SUBMITTED; // 17 per engineer, capacity 20
const SECRET = `bench-${randomUUID()}`;
const WITH_WEBHOOKS = process.env.BENCH_WEBHOOKS === 'true';

const serverUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const databaseName = `ers_bench_escalation_${process.pid}`;
const scratchUrl = databaseUrlFor(serverUrl, databaseName);

function seconds(since) {
  return ((performance.now() - since) / 1000).toFixed(1);
}

/** Every row by set-based SQL; review g belongs to incident g and to engineer ((g - 1) mod ENGINEERS) + 1. */
async function seed(db) {
  await db.query(
    `INSERT INTO engineers (id, name, email, max_concurrent_reviews, current_review_count, last_assigned_at)
     SELECT md5('engineer-' || g)::uuid, 'Engineer ' || g, 'engineer-' || g || '@bench.example', 20, $2, now() - interval '1 day'
     FROM generate_series(1, $1::int) g`,
    [ENGINEERS, OPEN / ENGINEERS],
  );
  // Reviews above OPEN are closed, by g mod 3: cancelled (incident still waiting), accepted, rejected.
  await db.query(
    `INSERT INTO incidents (id, title, severity, ai_proposal, status, chosen_approach)
     SELECT md5('incident-' || g)::uuid, 'Incident ' || g, 'high', 'Restart the primary',
       CASE WHEN g <= $2 OR g % 3 = 0 THEN 'pending_approval' WHEN g % 3 = 1 THEN 'approved' ELSE 'resolved' END::incident_status,
       CASE WHEN g <= $2 OR g % 3 = 0 THEN NULL WHEN g % 3 = 1 THEN 'engineer_approach' ELSE 'ai_approach' END::approach
     FROM generate_series(1, $1::int) g`,
    [REVIEWS, OPEN],
  );
  await db.query(
    `INSERT INTO reviews (id, incident_id, engineer_id, status, priority, assigned_at, started_at, submitted_at, expected_completion_at,
       approach, decision, decision_made_at, decision_rationale, decided_by, cancelled_at, cancellation_reason, assignment_strategy, assigned_by)
     SELECT md5('review-' || g)::uuid, md5('incident-' || g)::uuid, md5('engineer-' || ((g - 1) % $5 + 1))::uuid,
       k.status::review_status, 'normal', k.deadline - interval '24 hours',
       CASE WHEN k.status <> 'assigned' THEN k.deadline - interval '23 hours' END,
       CASE WHEN k.status IN ('submitted', 'accepted', 'rejected') THEN k.submitted END,
       k.deadline,
       CASE WHEN k.status IN ('submitted', 'accepted', 'rejected') THEN 'Fail over' END,
       CASE k.status WHEN 'accepted' THEN 'engineer_approach' WHEN 'rejected' THEN 'ai_approach' ELSE 'pending' END::review_decision,
       CASE WHEN k.status IN ('accepted', 'rejected') THEN k.submitted + interval '10 minutes' END,
       CASE WHEN k.status IN ('accepted', 'rejected') THEN 'Benchmark' END,
       CASE WHEN k.status IN ('accepted', 'rejected') THEN 'admin-1' END,
       CASE WHEN k.status = 'cancelled' THEN k.deadline - interval '12 hours' END,
       CASE WHEN k.status = 'cancelled' THEN 'Benchmark' END,
       'auto', 'bench'
     FROM generate_series(1, $1::int) g
     CROSS JOIN LATERAL (SELECT
       CASE WHEN g <= $2 THEN CASE WHEN g % 2 = 0 THEN 'assigned' ELSE 'in_progress' END
            WHEN g <= $3 THEN 'assigned'
            WHEN g <= $4 THEN 'submitted'
            ELSE (ARRAY['cancelled', 'accepted', 'rejected'])[g % 3 + 1] END AS status,
       CASE WHEN g <= $2 THEN now() - make_interval(secs => 1 + g % 3600) - CASE WHEN g % 10 = 0 THEN interval '13 hours' ELSE interval '0' END
            WHEN g <= $3 THEN now() + make_interval(secs => 60 + g % 80000)
            WHEN g <= $4 THEN now() + interval '21 hours'
            ELSE now() - interval '30 days' + make_interval(secs => g) END AS deadline,
       CASE WHEN g <= $4 AND g % 4 = 0 THEN now() - interval '2 hours'
            WHEN g <= $4 THEN now() - interval '30 minutes'
            ELSE now() - interval '30 days' + make_interval(secs => g) - interval '2 hours' END AS submitted) k`,
    [REVIEWS, OVERDUE, OVERDUE + NOT_DUE, OPEN, ENGINEERS],
  );
  await db.query(
    `UPDATE incidents i SET open_review_id = md5('review-' || g)::uuid FROM generate_series(1, $1::int) g WHERE i.id = md5('incident-' || g)::uuid`,
    [OPEN],
  );
  await db.query('VACUUM ANALYZE engineers, incidents, reviews');
}

/** The plan of a claim exactly as the service sends it, executed and rolled back. */
async function explain(db, label, query) {
  await db.query('BEGIN');
  try {
    const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${query.text}`, query.values);
    console.log(`\n${label}\n${rows.map((row) => `  ${row['QUERY PLAN']}`).join('\n')}`);
  } finally {
    await db.query('ROLLBACK');
  }
}

async function invariantsHold(db) {
  const { rows } = await db.query(`
    SELECT
      (SELECT count(*) FROM engineers WHERE current_review_count > max_concurrent_reviews)::int AS over_capacity,
      (SELECT count(*) FROM engineers e WHERE e.current_review_count <>
        (SELECT count(*) FROM reviews r WHERE r.engineer_id = e.id AND r.status IN ('assigned', 'in_progress', 'submitted')))::int AS drifted`);
  return rows[0].over_capacity === 0 && rows[0].drifted === 0;
}

await createDatabase(serverUrl, databaseName);
const db = new pg.Client({ connectionString: scratchUrl });
let app;
try {
  await applyMigrations(scratchUrl);
  await db.connect();
  console.log(`Seeding ${ENGINEERS} engineers, ${REVIEWS} incidents and ${REVIEWS} reviews (${OVERDUE} overdue) into ${databaseName}…`);
  const seeding = performance.now();
  await seed(db);
  console.log(`Seeded in ${seconds(seeding)} s`);

  const config = loadAppConfig({
    NODE_ENV: 'production',
    DATABASE_URL: scratchUrl,
    JWT_SECRET: SECRET,
    METRICS_PUBLIC: 'true',
    LOG_LEVEL: 'warn',
    SCHEDULER_ENABLED: 'false',
    ...(WITH_WEBHOOKS ? { WEBHOOK_URL: 'http://127.0.0.1:1/bench', WEBHOOK_SECRET: SECRET, WEBHOOK_DELIVERY_ENABLED: 'false' } : {}),
  });
  const noGrace = { critical: 0, high: 0, normal: 0, low: 0 };
  const halfSla = Object.fromEntries(Object.entries(config.slaSeconds).map(([priority, sla]) => [priority, sla / 2]));
  await explain(
    db,
    'Level-1 claim (first batch):',
    claimDueForEscalationSql({ fromLevel: 0, graceSeconds: noGrace, after: null }, config.escalation.batchSize),
  );
  await explain(
    db,
    'Level-2 claim (first batch, per-priority grace):',
    claimDueForEscalationSql({ fromLevel: 1, graceSeconds: halfSla, after: null }, config.escalation.batchSize),
  );
  await explain(
    db,
    'Decision-overdue claim (first batch):',
    claimDecisionOverdueSql(config.decisionSlaSeconds, null, config.escalation.batchSize),
  );

  app = await createApp(config);
  await app.init();
  console.log(`\nRunning one escalation pass (batch size ${config.escalation.batchSize}, webhook outbox ${WITH_WEBHOOKS ? 'on' : 'off'})…`);
  const pass = performance.now();
  const result = await app.get(EscalationService).runPass();
  const passSeconds = seconds(pass);
  console.log(
    `Pass: ${passSeconds} s, ${JSON.stringify(result)}, ${Math.round((result.escalated + result.decisionOverdue) / Number(passSeconds))} changes/s`,
  );

  const { rows } = await db.query(`
    SELECT
      (SELECT count(*) FROM reviews WHERE escalation_level = 1)::int AS level1,
      (SELECT count(*) FROM reviews WHERE escalation_level = 2)::int AS level2,
      (SELECT count(*) FROM reviews WHERE decision_overdue_at IS NOT NULL)::int AS decision_overdue,
      (SELECT count(*) FROM audit_entries WHERE action IN ('review.escalated', 'review.decision_overdue'))::int AS audit_entries,
      (SELECT count(*) FROM webhook_events)::int AS webhook_events`);
  const outcome = rows[0];
  console.log(`Outcome: ${JSON.stringify(outcome)}`);
  const expectedLevel2 = OVERDUE / 10;
  const expectedDecisionOverdue = SUBMITTED / 4;
  const consistent =
    result.escalated === OVERDUE + expectedLevel2 &&
    outcome.level1 === OVERDUE - expectedLevel2 &&
    outcome.level2 === expectedLevel2 &&
    result.decisionOverdue === expectedDecisionOverdue &&
    outcome.decision_overdue === expectedDecisionOverdue &&
    outcome.audit_entries === result.escalated + expectedDecisionOverdue &&
    outcome.webhook_events === (WITH_WEBHOOKS ? outcome.audit_entries : 0) &&
    (await invariantsHold(db));
  console.log(consistent ? 'Outcome as expected; invariants hold.' : 'UNEXPECTED OUTCOME');
  if (!consistent) process.exitCode = 1;
} finally {
  await app?.close();
  await db.end().catch(() => undefined);
  await dropDatabase(serverUrl, databaseName);
  console.log(`Dropped ${databaseName}`);
}
