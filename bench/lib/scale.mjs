// The scale phase: seeds a large data set by set-based SQL (keeping every invariant), times the list
// endpoints and one escalation pass over HTTP, and EXPLAIN ANALYZEs the exact SQL the repositories
// send for each list (captured from the repositories themselves, so the plans cannot drift from the code).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import { benchUuid } from './identity.mjs';
import { summarize } from './stats.mjs';

/** Sizes derived from the number of reviews: two reviews per incident, a tenth of the reviews open. */
export function scaleShape(reviews, engineers) {
  const incidents = Math.ceil(reviews / 2);
  const open = Math.floor(reviews / 10);
  return { reviews, engineers, incidents, open, openPerEngineer: Math.ceil(open / engineers) };
}

/**
 * Engineers `scale-engineer-n`, incidents `scale-incident-n`, reviews `scale-review-g`. Review g is of
 * incident ((g-1) mod I)+1 and engineer ((g-1) mod E)+1. Reviews 1..open are open (assigned,
 * in_progress, submitted) on distinct incidents, assigned during the last 65 minutes: like a
 * service whose scheduler keeps up, only the critical ones older than their 1 h SLA are overdue.
 * The others are closed (cancelled, accepted or rejected, matching their incident) and older.
 * Counters are then set from the open reviews themselves, and capacities leave room for them.
 */
export async function seedScale(db, shape, log) {
  const { reviews, engineers, incidents, open, openPerEngineer } = shape;
  const steps = [];
  const step = async (name, sql, params) => {
    const started = performance.now();
    await db.query(sql, params);
    const seconds = (performance.now() - started) / 1000;
    steps.push({ name, seconds: Math.round(seconds * 10) / 10 });
    log(`  scale seed: ${name} in ${seconds.toFixed(1)} s`);
  };
  await step(
    'engineers',
    `INSERT INTO engineers (id, name, email, expertise, status, max_concurrent_reviews, created_at, updated_at, last_assigned_at)
     SELECT bench_uuid('scale-engineer-' || n), 'Scale engineer ' || n, 'scale-engineer-' || n || '@bench.example',
       ARRAY['tag-' || (n % 20), 'tag-' || (20 + n % 7)],
       (CASE WHEN n % 20 = 0 THEN 'on_leave' WHEN n % 50 = 1 THEN 'offline' ELSE 'active' END)::engineer_status,
       $2::int + n % 11, now() - (($1::int - n) * interval '1 minute'), now(), now() - ((n % 1000) * interval '1 minute')
     FROM generate_series(1, $1::int) n`,
    [engineers, openPerEngineer],
  );
  await step(
    'incidents',
    `INSERT INTO incidents (id, title, severity, ai_proposal, required_expertise, status, chosen_approach, created_at, updated_at)
     SELECT bench_uuid('scale-incident-' || n), 'Scale incident ' || n,
       (ARRAY['low', 'medium', 'high', 'critical'])[1 + n % 4]::incident_severity, 'Restart the failing pods and roll back the config change',
       CASE WHEN n % 5 = 0 THEN ARRAY['tag-' || (n % 20)] ELSE ARRAY[]::text[] END,
       (CASE WHEN n <= $2 OR n % 3 = 0 THEN 'pending_approval' WHEN n % 3 = 1 THEN 'approved' ELSE 'resolved' END)::incident_status,
       (CASE WHEN n <= $2 OR n % 3 = 0 THEN NULL WHEN n % 3 = 1 THEN 'engineer_approach' ELSE 'ai_approach' END)::approach,
       now() - (($1::int - n) * interval '5 seconds'), now()
     FROM generate_series(1, $1::int) n`,
    [incidents, open],
  );
  await step(
    'reviews',
    `INSERT INTO reviews (id, incident_id, engineer_id, status, priority, assigned_at, started_at, submitted_at, expected_completion_at,
       approach, decision, decision_made_at, decision_rationale, decided_by, cancelled_at, cancellation_reason, assignment_strategy, assigned_by,
       created_at, updated_at)
     SELECT bench_uuid('scale-review-' || g), bench_uuid('scale-incident-' || k.n), bench_uuid('scale-engineer-' || ((g - 1) % $3 + 1)),
       k.status::review_status, k.priority::review_priority, k.assigned,
       CASE WHEN k.status NOT IN ('assigned', 'cancelled') THEN LEAST(now(), k.assigned + interval '1 minute') END,
       CASE WHEN k.status IN ('submitted', 'accepted', 'rejected') THEN LEAST(now(), k.assigned + interval '2 minutes') END,
       k.assigned + make_interval(secs => CASE k.priority WHEN 'critical' THEN 3600 WHEN 'high' THEN 14400 WHEN 'normal' THEN 86400 ELSE 259200 END),
       CASE WHEN k.status IN ('submitted', 'accepted', 'rejected') THEN 'Scale the read replicas and shed batch traffic' END,
       (CASE k.status WHEN 'accepted' THEN 'engineer_approach' WHEN 'rejected' THEN 'ai_approach' ELSE 'pending' END)::review_decision,
       CASE WHEN k.status IN ('accepted', 'rejected') THEN k.assigned + interval '2 hours' END,
       CASE WHEN k.status IN ('accepted', 'rejected') THEN 'seeded decision' END,
       CASE WHEN k.status IN ('accepted', 'rejected') THEN 'scale-seed' END,
       CASE WHEN k.status = 'cancelled' THEN k.assigned + interval '30 minutes' END,
       CASE WHEN k.status = 'cancelled' THEN 'seeded cancellation' END,
       'manual', 'scale-seed', k.assigned, k.assigned
     FROM generate_series(1, $1::int) g
     CROSS JOIN LATERAL (
       SELECT (g - 1) % $2 + 1 AS n,
         (ARRAY['low', 'normal', 'high', 'critical'])[1 + g % 4] AS priority,
         CASE WHEN g <= $4 THEN now() - ((g * 7919) % 3900) * interval '1 second'
              ELSE now() - interval '2 days' - ($1::int - g) * interval '10 seconds' END AS assigned,
         CASE WHEN g <= $4 THEN (ARRAY['assigned', 'in_progress', 'submitted'])[1 + g % 3]
              WHEN (g - 1) % $2 + 1 <= $4 OR g > $2 OR ((g - 1) % $2 + 1) % 3 = 0 THEN 'cancelled'
              WHEN ((g - 1) % $2 + 1) % 3 = 1 THEN 'accepted'
              ELSE 'rejected' END AS status
     ) k`,
    [reviews, incidents, engineers, open],
  );
  await step(
    'open review pointers',
    `UPDATE incidents i SET open_review_id = bench_uuid('scale-review-' || n)
     FROM generate_series(1, $1::int) n WHERE i.id = bench_uuid('scale-incident-' || n)`,
    [open],
  );
  await step(
    'engineer counters',
    `UPDATE engineers e SET current_review_count = o.open
     FROM (SELECT engineer_id, count(*)::int AS open FROM reviews
           WHERE assigned_by = 'scale-seed' AND status IN ('assigned', 'in_progress', 'submitted') GROUP BY engineer_id) o
     WHERE e.id = o.engineer_id`,
  );
  await step('analyze', 'ANALYZE');
  return steps;
}

/** The HTTP requests timed, with the repository calls that serve them (for EXPLAIN). */
export function scaleEndpoints() {
  const engineerId = benchUuid('scale-engineer-17');
  const incidentId = benchUuid('scale-incident-42');
  return [
    {
      name: 'reviews, first page',
      path: '/api/v1/reviews',
      calls: [
        ['reviews', 'countMatching', {}],
        ['reviews', 'listMatching', {}, 0, 20],
      ],
    },
    {
      name: 'reviews, status=assigned,in_progress',
      path: '/api/v1/reviews?status=assigned,in_progress&pageSize=50',
      calls: [
        ['reviews', 'countMatching', { statuses: ['assigned', 'in_progress'] }],
        ['reviews', 'listMatching', { statuses: ['assigned', 'in_progress'] }, 0, 50],
      ],
    },
    {
      name: 'reviews, engineerId',
      path: `/api/v1/reviews?engineerId=${engineerId}`,
      calls: [
        ['reviews', 'countMatching', { engineerId }],
        ['reviews', 'listMatching', { engineerId }, 0, 20],
      ],
    },
    {
      name: 'reviews, incidentId',
      path: `/api/v1/reviews?incidentId=${incidentId}`,
      calls: [
        ['reviews', 'countMatching', { incidentId }],
        ['reviews', 'listMatching', { incidentId }, 0, 20],
      ],
    },
    {
      name: 'reviews, overdue=true',
      path: '/api/v1/reviews?overdue=true&pageSize=50',
      calls: [
        ['reviews', 'countMatching', { overdue: true }],
        ['reviews', 'listMatching', { overdue: true }, 0, 50],
      ],
    },
    {
      name: 'reviews, priority=high page 200',
      path: '/api/v1/reviews?priority=high&page=200&pageSize=50',
      calls: [
        ['reviews', 'countMatching', { priority: 'high' }],
        ['reviews', 'listMatching', { priority: 'high' }, 9950, 50],
      ],
    },
    {
      name: 'reviews, page 2000',
      path: '/api/v1/reviews?page=2000&pageSize=50',
      calls: [
        ['reviews', 'countMatching', {}],
        ['reviews', 'listMatching', {}, 99950, 50],
      ],
    },
    {
      name: 'engineers, first page',
      path: '/api/v1/engineers',
      calls: [
        ['engineers', 'countMatching', { includeDeleted: false }],
        ['engineers', 'listMatching', { includeDeleted: false }, 0, 20],
      ],
    },
    {
      name: 'engineers, available=true&expertise',
      path: '/api/v1/engineers?available=true&expertise=tag-3&pageSize=50',
      calls: [
        ['engineers', 'countMatching', { includeDeleted: false, available: true, expertise: 'tag-3' }],
        ['engineers', 'listMatching', { includeDeleted: false, available: true, expertise: 'tag-3' }, 0, 50],
      ],
    },
    {
      name: 'engineers, page 100',
      path: '/api/v1/engineers?page=100&pageSize=50',
      calls: [
        ['engineers', 'countMatching', { includeDeleted: false }],
        ['engineers', 'listMatching', { includeDeleted: false }, 4950, 50],
      ],
    },
    { name: 'engineers/available', path: '/api/v1/engineers/available?limit=10', calls: [['engineers', 'available', [], 10]] },
    {
      name: 'engineers/available, 2 tags',
      path: '/api/v1/engineers/available?expertise=tag-3&expertise=tag-23&limit=50',
      calls: [['engineers', 'available', ['tag-3', 'tag-23'], 50]],
    },
    {
      name: 'incidents, first page',
      path: '/api/v1/incidents',
      calls: [
        ['incidents', 'countMatching', {}],
        ['incidents', 'listMatching', {}, 0, 20],
      ],
    },
    {
      name: 'incidents, status&severity',
      path: '/api/v1/incidents?status=pending_approval&severity=high',
      calls: [
        ['incidents', 'countMatching', { status: 'pending_approval', severity: 'high' }],
        ['incidents', 'listMatching', { status: 'pending_approval', severity: 'high' }, 0, 20],
      ],
    },
    {
      name: 'incidents, page 1000',
      path: '/api/v1/incidents?page=1000&pageSize=50',
      calls: [
        ['incidents', 'countMatching', {}],
        ['incidents', 'listMatching', {}, 49950, 50],
      ],
    },
  ];
}

/** Sequential requests per endpoint (after warm-ups), spread over the replicas. */
export async function timeEndpoints(client, token, endpoints, samples) {
  const results = [];
  for (const endpoint of endpoints) {
    const latencies = [];
    const statuses = {};
    for (let index = 0; index < samples + 3; index += 1) {
      const response = await client.request('GET', endpoint.path, { token });
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      if (index >= 3 && response.status === 200) latencies.push(response.ms);
    }
    results.push({ name: endpoint.name, path: endpoint.path, statuses, ...summarize(latencies) });
  }
  return results;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the statements the repositories send for each endpoint. The
 * repositories are those of the service being measured (its build, or its sources through swc),
 * given a client that records each $queryRaw instead of running it.
 */
export async function explainEndpoints(db, endpoints, { root, mode }) {
  let load;
  if (mode === 'dist') {
    load = (relative) => import(pathToFileURL(path.join(root, 'dist', relative.replace(/\.ts$/, '.js'))).href);
  } else {
    await import('@swc-node/register/esm-register');
    load = (relative) => import(pathToFileURL(path.join(root, relative)).href);
  }
  const { Prisma } = await load('libs/database/src/index.ts');
  const { ReviewsRepository } = await load('libs/reviews/src/index.ts');
  const { EngineersRepository } = await load('libs/engineers/src/index.ts');
  const { IncidentsRepository } = await load('libs/incidents/src/index.ts');
  const captured = [];
  // Repositories call $queryRaw as a tagged template or with a Prisma.Sql (a column set's query).
  const recorder = {
    $queryRaw: (query, ...values) => (captured.push(Array.isArray(query) ? Prisma.sql(query, ...values) : query), Promise.resolve([])),
  };
  const repositories = {
    reviews: new ReviewsRepository(recorder),
    engineers: new EngineersRepository(recorder),
    incidents: new IncidentsRepository(recorder),
  };

  const plans = [];
  for (const endpoint of endpoints) {
    for (const [repository, method, ...args] of endpoint.calls) {
      captured.length = 0;
      await repositories[repository][method](...args);
      for (const statement of captured) {
        const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, statement.values);
        const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
        const executionMs = Number(/Execution Time: ([0-9.]+) ms/.exec(plan)?.[1] ?? NaN);
        const seqScans = [...plan.matchAll(/Seq Scan on (\w+)/g)].map((match) => match[1]);
        plans.push({
          endpoint: endpoint.name,
          call: `${repository}.${method}`,
          sql: statement.text.replace(/\s+/g, ' ').trim(),
          values: statement.values,
          executionMs,
          seqScans,
          plan,
        });
      }
    }
  }
  return plans;
}
