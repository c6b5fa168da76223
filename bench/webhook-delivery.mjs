#!/usr/bin/env node
// CPU per delivered webhook event, the replica's and PostgreSQL's, for one or more builds side by side.
// One replica per build on a scratch database, a local receiver (child process), and events written
// straight into the event log and the outbox at a steady rate (two events per review, a millisecond
// apart, as assign → cancel writes them), for --seconds; the window closes once every event is
// delivered. The replica's work per event includes positioning it in the event log (the sequencer),
// which the service does with webhooks off too. Each build runs on a scratch database of its own,
// migrated from the checkout it was built in (the parent of its dist/).
// Builds take turns run by run, so that the machine's load weighs on each alike; the table shows
// medians. The replica's CPU is read from /proc; PostgreSQL's is that of the database's backends,
// the writer's own backend left out. Everything runs on 127.0.0.1, bounded by --seconds and --runs.
//
//   node bench/webhook-delivery.mjs [--dist=dist,bench/results/tmp/dist-before] [--rate=200]
//     [--seconds=6] [--runs=5] [--profile=DIR]
//
// --profile runs the first build once under `node --cpu-prof` instead, and prints the time per
// owner (package or our module) and the top functions over the window.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { CpuWindow } from './lib/cpu.mjs';
import { createDatabase, databaseUrlFor, dropDatabase, migrate } from './lib/database.mjs';
import { repoRoot } from './lib/paths.mjs';
import { analyzeCpuProfile, newestCpuProfile } from './lib/profile.mjs';
import { Replica } from './lib/replicas.mjs';
import { median } from './lib/stats.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '6' },
    runs: { type: 'string', default: '5' },
    profile: { type: 'string' },
    'database-url': { type: 'string', default: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' },
  },
});
const reviewsPerSecond = Math.min(2_000, Math.max(1, Number(values.rate)));
const seconds = Math.min(30, Math.max(1, Number(values.seconds)));
const runs = Math.min(20, Math.max(1, Number(values.runs)));
const builds = values.dist.split(',').map((dir) => path.resolve(repoRoot, dir));
const TICK_MS = 50;
const DRAIN_TIMEOUT_MS = 60_000;

/** A review as the API shows it, about the size of a real event's payload. */
const PAYLOAD = JSON.stringify({
  status: 'cancelled',
  priority: 'high',
  assignmentStrategy: 'manual',
  assignedBy: 'bench-admin',
  cancellationReason: 'bench',
  incident: {
    title: 'Payment gateway latency above SLO in eu-west-1',
    severity: 'high',
    aiProposal: 'Restart the gateway pods. '.repeat(24),
  },
});

/** The event log's gate (EventLogRepository): writers hold it shared, so that the sequencer positions their events. */
const EVENT_GATE_LOCK_KEY = 0xe7e1;

/**
 * Writes `reviews` reviews' two events in one statement, into the event log and the outbox, as the
 * statement of two writes would; the replica's sequencer positions them and its enqueuer queues them.
 */
function writeEvents(writer, reviews) {
  return writer.query(
    `WITH reviews AS (SELECT gen_random_uuid() AS id FROM generate_series(1, $1)),
     logged AS (
       INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
       SELECT gen_random_uuid(), t.type, r.id, r.id, r.id, now() + t.offset_ms * interval '1 millisecond',
              jsonb_set($2::jsonb, '{id}', to_jsonb(r.id::text))
       FROM (SELECT pg_advisory_xact_lock_shared($3::bigint)) AS gate, reviews r,
            (VALUES ('review.assigned', 0), ('review.cancelled', 1)) AS t(type, offset_ms)
       RETURNING id, type, review_id, occurred_at, payload)
     INSERT INTO webhook_events (id, type, review_id, occurred_at, payload) SELECT id, type, review_id, occurred_at, payload FROM logged`,
    [reviews, PAYLOAD, EVENT_GATE_LOCK_KEY],
  );
}

async function undelivered(db) {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM webhook_events WHERE delivered_at IS NULL');
  return rows[0].n;
}

/** Time from each event's occurrence to its delivery being recorded. */
async function latencies(db) {
  const { rows } = await db.query(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - occurred_at) * 1000) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - occurred_at) * 1000) AS p99
     FROM webhook_events`,
  );
  return rows[0];
}

/** One run: a fresh replica of `build`, events written at the rate for `seconds`, then drained. */
async function runOnce(build, { databaseName, databaseUrl, receiver, workDir, db, root, profileDir }) {
  await db.query('TRUNCATE webhook_events, review_events');
  await db.query(
    `DO $$ BEGIN IF to_regclass('webhook_queue_cursor') IS NOT NULL THEN UPDATE webhook_queue_cursor SET position = 0; END IF; END $$`,
  );
  // graphile-worker's schema is installed by the first replica.
  await db.query(
    `DO $$ BEGIN IF to_regclass('graphile_worker._private_jobs') IS NOT NULL THEN DELETE FROM graphile_worker._private_jobs; END IF; END $$`,
  );
  const replica = new Replica({
    index: 0,
    root,
    env: { DATABASE_URL: databaseUrl, JWT_SECRET: 'x'.repeat(48), WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret },
    logDir: workDir,
    command: [path.join(build, 'apps', 'api', 'src', 'main.js')],
  });
  const spawned = performance.now();
  await replica.start(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {});
  const writer = new pg.Client({ connectionString: databaseUrl });
  await writer.connect();
  try {
    const { rows } = await writer.query('SELECT pg_backend_pid() AS pid');
    const writerPid = rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const window = new CpuWindow({ groups: { replica: () => [replica.pid], writer: () => [writerPid] }, database: databaseName });
    const started = performance.now();
    let written = 0;
    for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
      const due = Math.round(((tick + 1) * TICK_MS * reviewsPerSecond) / 1000) - written;
      if (due > 0) await writeEvents(writer, due);
      written += Math.max(0, due);
      const wait = started + (tick + 1) * TICK_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    let left = await undelivered(db);
    while (left > 0 && performance.now() - started < seconds * 1000 + DRAIN_TIMEOUT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await undelivered(db);
    }
    const { cpuMs, wallMs } = window.stop();
    if (left > 0) throw new Error(`${left} events undelivered after ${DRAIN_TIMEOUT_MS} ms`);
    const events = written * 2;
    const latency = await latencies(db);
    const profileWindow = { fromMs: started - spawned, toMs: started - spawned + wallMs };
    // The count query's backend (db) is one of the database's backends too: small, and the same for every build.
    return {
      events,
      replicaMsPerEvent: cpuMs.replica / events,
      postgresMsPerEvent: (cpuMs.postgres - (cpuMs.writer ?? 0)) / events,
      latencyP50Ms: latency.p50,
      latencyP99Ms: latency.p99,
      wallMs,
      profileWindow,
    };
  } finally {
    await writer.end();
    await replica.stop();
  }
}

/** Each build on a database of its own, migrated from the checkout it was built in (the parent of its dist/). */
async function setUpBuilds(receiver) {
  const contexts = [];
  for (const [index, build] of builds.entries()) {
    const databaseName = `ers_webhooks_${process.pid}_${index}`;
    const databaseUrl = databaseUrlFor(values['database-url'], databaseName);
    const workDir = path.join(repoRoot, 'bench', 'results', 'tmp', databaseName);
    const root = path.dirname(build);
    mkdirSync(workDir, { recursive: true });
    await createDatabase(values['database-url'], databaseName);
    const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    contexts.push({ databaseName, databaseUrl, receiver, workDir, db, root });
    await migrate(root, databaseUrl);
  }
  return contexts;
}

async function main() {
  const receiver = await startWebhookReceiver();
  let contexts = [];
  try {
    contexts = await setUpBuilds(receiver);
    if (values.profile) {
      const profileDir = path.resolve(values.profile);
      mkdirSync(profileDir, { recursive: true });
      const result = await runOnce(builds[0], { ...contexts[0], profileDir });
      const file = newestCpuProfile(profileDir);
      console.log(`${result.events} events, replica ${result.replicaMsPerEvent.toFixed(3)} ms/event (under the profiler)`);
      console.log(JSON.stringify(analyzeCpuProfile(file, { ...result.profileWindow, top: 40 }), null, 1));
      return;
    }
    const results = builds.map(() => []);
    for (let run = 0; run < runs; run++) {
      for (const [index, build] of builds.entries()) {
        const result = await runOnce(build, contexts[index]);
        results[index].push(result);
        console.log(
          `run ${run + 1} ${path.relative(repoRoot, build) || build}: ${result.events} events, replica ${result.replicaMsPerEvent.toFixed(3)} ms/event, ` +
            `PostgreSQL ${result.postgresMsPerEvent.toFixed(3)} ms/event, delivered after p50 ${Math.round(result.latencyP50Ms)} / p99 ${Math.round(result.latencyP99Ms)} ms`,
        );
      }
    }
    console.log(`\n${reviewsPerSecond} reviews/s (${2 * reviewsPerSecond} events/s) for ${seconds} s, medians of ${runs} runs:\n`);
    console.log('| build | replica CPU ms per event | PostgreSQL CPU ms per event | delivered after, p50 / p99 ms |');
    console.log('|---|--:|--:|--:|');
    for (const [index, build] of builds.entries()) {
      const pick = (key) => median(results[index].map((result) => result[key]));
      console.log(
        `| ${path.relative(repoRoot, build) || build} | ${pick('replicaMsPerEvent').toFixed(3)} | ${pick('postgresMsPerEvent').toFixed(3)} | ` +
          `${Math.round(pick('latencyP50Ms'))} / ${Math.round(pick('latencyP99Ms'))} |`,
      );
    }
  } finally {
    await receiver.stop();
    for (const { db, databaseName } of contexts) {
      await db.end();
      await dropDatabase(values['database-url'], databaseName);
    }
  }
}

await main();
