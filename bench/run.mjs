#!/usr/bin/env node
// `npm run bench`: load, fault, scale and memory harness of the built service (bench/README.md).
//
// Creates a scratch database, starts R replicas of the service and a webhook receiver on 127.0.0.1,
// then runs the selected phases: load (HTTP cycles and the same SQL through pgbench, per concurrency
// level), profile (--cpu-prof of one replica), faults (opt-in), scale (large data set: list p99 and
// plans) and soak (RSS under mixed load). Invariants and acknowledged writes are checked after every
// run. Writes bench/results/<stamp>.json and .md with SVG charts, and exits non-zero when a
// correctness check fails (not when a performance target is missed: the report says so).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { CpuWindow } from './lib/cpu.mjs';
import {
  Acknowledged,
  checkInvariants,
  compareWebhookEvents,
  createDatabase,
  databaseUrlFor,
  dropDatabase,
  freeConnections,
  IncidentPool,
  migrate,
  removePgbenchJobs,
  seedBenchEngineers,
  seedIncidents,
  verifyAcknowledged,
  waitForOutboxDrained,
} from './lib/database.mjs';
import { decisionsPhase } from './lib/decisions.mjs';
import { haproxyVersion, startHaproxy } from './lib/haproxy.mjs';
import { ServiceClient, waitForOk } from './lib/http-client.mjs';
import { BENCH_UUID_FUNCTION, benchEngineerId, Tokens } from './lib/identity.mjs';
import { parseOptions, PHASES } from './lib/options.mjs';
import { benchDir } from './lib/paths.mjs';
import { pgbenchVersion, runPgbench } from './lib/pgbench.mjs';
import { analyzeCpuProfile, newestCpuProfile } from './lib/profile.mjs';
import { loggedProblems, Replica } from './lib/replicas.mjs';
import { writeReport } from './lib/report.mjs';
import { explainEndpoints, scaleEndpoints, scaleShape, seedScale, timeEndpoints } from './lib/scale.mjs';
import { median, Recorder, round } from './lib/stats.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';
import { runClients } from './lib/workloads.mjs';

const options = parseOptions(process.argv.slice(2));
const clock = performance.now();
const log = (message) => console.log(`[${((performance.now() - clock) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (count) => Array.from({ length: count }, (_, index) => index);

/** Correctness problems found; any makes the exit code non-zero. */
const failures = [];
const fail = (message) => {
  failures.push(message);
  log(`FAILED: ${message}`);
};

/** Outbox drain wait after a load run, and after faults (a killed worker's jobs are released after 60 s without its heartbeat). */
const DRAIN_TIMEOUT_MS = 120_000;
const FAULT_DRAIN_TIMEOUT_MS = 300_000;
/** pgbench's full cycle takes one incident per cycle: seeded ahead at this rate per second of run. */
const PGBENCH_INCIDENTS_PER_SECOND = 3_000;
const SOAK_SAMPLE_MS = 10_000;

/** 0 for a root without sources, such as a design-card variant (a dist/ and the migrations). */
function newestSourceMtime(root) {
  let newest = 0;
  for (const folder of ['apps', 'libs']) {
    if (!existsSync(path.join(root, folder))) continue;
    for (const file of readdirSync(path.join(root, folder), { recursive: true })) {
      if (file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.includes('generated'))
        newest = Math.max(newest, statSync(path.join(root, folder, file)).mtimeMs);
    }
  }
  return newest;
}

/** dist unless told otherwise; a smoke run without an up-to-date build runs the sources (CI builds nothing). */
function serviceMode() {
  if (process.argv.some((arg) => arg.startsWith('--service'))) return options.service;
  const entry = path.join(options.root, 'dist', 'apps', 'api', 'src', 'main.js');
  const fresh = existsSync(entry) && statSync(entry).mtimeMs >= newestSourceMtime(options.root);
  if (fresh) return 'dist';
  if (options.smoke) {
    log('dist/ is missing or older than the sources: the smoke run starts the service from its TypeScript sources');
    return 'source';
  }
  if (existsSync(entry)) {
    log('WARNING: dist/ is older than the sources; measuring the build as it is (pass --build to rebuild)');
    return 'dist';
  }
  throw new Error(`No build in ${options.root}/dist: run \`npm run build\` or pass --build`);
}

async function main() {
  const startedAt = new Date();
  const stamp = startedAt.toISOString().slice(0, 16).replace(':', '');
  const outDir = options.out ?? (options.smoke ? mkdtempSync(path.join(os.tmpdir(), 'ers-bench-smoke-')) : path.join(benchDir, 'results'));
  mkdirSync(outDir, { recursive: true });
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ers-bench-'));
  log(`Logs and profiles in ${workDir}`);

  if (options.build) {
    log(`Building in ${options.root}…`);
    const build = spawnSync('npm', ['run', 'build'], { cwd: options.root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const mode = serviceMode();
  const pgbench = pgbenchVersion();
  if (!pgbench && !options.smoke) throw new Error('pgbench not found: apt-get install postgresql-client (or postgresql-contrib)');
  if (!pgbench) log('pgbench not found: the smoke run skips the pgbench side');

  const results = {
    startedAt: startedAt.toISOString(),
    options: { ...options, service: mode },
    host: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      pgbench: pgbench ?? null,
      loadAverageAtStart: os.loadavg().map((value) => round(value, 2)),
    },
  };
  const databaseName = `ers_bench_${process.pid}`;
  const databaseUrl = databaseUrlFor(options.databaseUrl, databaseName);
  const ctx = {
    options,
    results,
    log,
    databaseName,
    databaseUrl,
    workDir,
    outDir,
    stamp,
    pgbench: Boolean(pgbench),
    mode,
    replicas: [],
    pgbenchFullSeeded: 0,
    stop: { aborted: false },
  };

  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log('Interrupted: cleaning up');
    ctx.stop.aborted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log(`Scratch database ${databaseName}`);
    await createDatabase(options.databaseUrl, databaseName);
    await migrate(options.root, databaseUrl);
    ctx.db = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: 'ers-bench' });
    // An idle connection dropped by the server (the pg-restart fault) must not end the harness.
    ctx.db.on('error', (error) => log(`Harness database connection lost: ${error.message}`));
    const { rows } = await ctx.db.query(`SELECT version() AS version, current_setting('max_connections') AS max_connections`);
    Object.assign(results.host, { postgres: rows[0].version.split(' on ')[0], maxConnections: Number(rows[0].max_connections) });
    await ctx.db.query(BENCH_UUID_FUNCTION);
    await seedBenchEngineers(ctx.db, Math.max(...options.clients, 16));
    await ctx.db.query('CREATE SEQUENCE bench_pgbench_full_seq');
    ctx.fullPool = new IncidentPool(ctx.db, 'svc-full', { status: 'detected', batch: 5_000 });
    await ctx.fullPool.fill();

    if (options.webhooks) {
      ctx.receiver = await startWebhookReceiver();
      log(`Webhook receiver on ${ctx.receiver.url}`);
    }
    const secret = randomBytes(32).toString('hex');
    ctx.tokens = new Tokens(secret);
    ctx.env = {
      DATABASE_URL: databaseUrl,
      JWT_SECRET: secret,
      ASSIGN_RATE_LIMIT: '100000000',
      DATABASE_POOL_MAX: String(options.poolMax),
      ...(ctx.receiver ? { WEBHOOK_URL: ctx.receiver.url, WEBHOOK_SECRET: ctx.receiver.secret } : {}),
    };
    ctx.replicas = range(options.replicas).map((index) => new Replica({ index, root: options.root, mode, env: ctx.env, logDir: workDir }));
    const startMs = await Promise.all(ctx.replicas.map((replica) => replica.start()));
    results.startupMs = startMs;
    log(
      `${options.replicas} replica(s) ready (${mode}) in ${startMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}: ${ctx.replicas.map((r) => r.baseUrl).join(' ')}`,
    );
    ctx.client = new ServiceClient(
      ctx.replicas.map((replica) => replica.baseUrl),
      { maxSockets: 1024 },
    );

    const phases = {
      load: loadPhase,
      decisions: runDecisionsPhase,
      profile: profilePhase,
      faults: faultsPhase,
      rolling: rollingPhase,
      scale: scalePhase,
      soak: soakPhase,
    };
    for (const phase of PHASES) {
      if (!options.phases.includes(phase) || interrupted) continue;
      log(`== ${phase}`);
      await phases[phase](ctx);
    }

    if (ctx.receiver && !interrupted) {
      log('Final webhook check: waiting for the outbox to drain…');
      const drained = await waitForOutboxDrained(ctx.db, FAULT_DRAIN_TIMEOUT_MS);
      results.webhooks = { drained, ...(await compareWebhookEvents(ctx.db, await ctx.receiver.snapshot())) };
      checkWebhooks(results.webhooks, 'whole run');
      log(`Webhooks: ${JSON.stringify(results.webhooks)}`);
    }
    results.invariants = await checkInvariants(ctx.db);
    if (!results.invariants.ok) fail(`invariants at the end: ${JSON.stringify(results.invariants)}`);
  } catch (error) {
    results.error = error.stack ?? String(error);
    fail(`harness error: ${error.message}`);
  } finally {
    ctx.client?.close();
    await Promise.all(ctx.replicas.map((replica) => replica.stop()));
    results.serviceLog = ctx.replicas.flatMap((replica) => loggedProblems(workDir, replica.index));
    await ctx.receiver?.stop();
    await ctx.db?.end();
    if (options.keepDb) log(`Kept database ${databaseUrl}`);
    else await dropDatabase(options.databaseUrl, databaseName).catch((error) => log(`Could not drop ${databaseName}: ${error.message}`));
  }
  results.finishedAt = new Date().toISOString();
  results.failures = failures;
  const written = await writeReport(results, outDir, stamp);
  log(`Report: ${written.markdown}`);
  log(failures.length ? `${failures.length} correctness check(s) FAILED` : 'All correctness checks passed');
  return failures.length ? 1 : 0;
}

/** After a load run: outbox drained (when webhooks are on), invariants, acknowledged writes. */
async function checkAfterRun(ctx, acks, label, drainTimeoutMs = DRAIN_TIMEOUT_MS) {
  // The smoke run leaves delivery to the final webhook check, to stay short.
  const outbox = ctx.receiver && !ctx.options.smoke ? await waitForOutboxDrained(ctx.db, drainTimeoutMs) : null;
  const invariants = await checkInvariants(ctx.db);
  const acknowledged = await verifyAcknowledged(ctx.db, acks);
  if (!invariants.ok) fail(`${label}: invariants violated ${JSON.stringify(invariants)}`);
  if (acknowledged.lost > 0)
    fail(`${label}: ${acknowledged.lost} acknowledged write(s) not in the database ${JSON.stringify(acknowledged.examples)}`);
  return { outbox, invariants, acknowledged };
}

function checkWebhooks(comparison, label) {
  if (comparison.lost > 0) fail(`${label}: ${comparison.lost} webhook event(s) written but never received`);
  if (comparison.receivedButNotInOutbox > 0)
    fail(`${label}: ${comparison.receivedButNotInOutbox} received webhook id(s) not in the outbox`);
  if (comparison.badSignatures > 0) fail(`${label}: ${comparison.badSignatures} webhook(s) with a bad signature`);
}

function checkServerErrors(run, label) {
  if (run.serverErrors.length > 0)
    fail(`${label}: ${run.serverErrors.length} 5xx answer(s) other than 503, e.g. ${JSON.stringify(run.serverErrors[0])}`);
}

/**
 * Without faults every request should succeed: a 4xx means the harness or the service is wrong. A 503
 * (a lock conflict that outlived the retries, or the database briefly unreachable) is reported, not failed.
 */
function checkLoadErrors(run, label) {
  const unexpected = Object.entries(run.errors).filter(([key]) => !/ 503\b/.test(key));
  if (unexpected.length) fail(`${label}: unexpected error answers ${JSON.stringify(Object.fromEntries(unexpected))}`);
  if (run.cycles === 0) fail(`${label}: no cycle completed`);
}

/** The service's figures without the raw samples. */
function figures(run) {
  const copy = { ...run };
  delete copy.recorder;
  return copy;
}

function cycleSpecs(kind, clients, pool, firstEngineer = 1) {
  return range(clients).map((index) => ({ kind, engineerId: benchEngineerId(firstEngineer + index), pool }));
}

function assignCancelPool(ctx, tag, clients) {
  return new IncidentPool(ctx.db, tag, { status: 'pending_approval', batch: Math.max(64, clients * 4) });
}

/** Requests per cycle: what CPU per request divides by. */
const REQUESTS_PER_CYCLE = { full: 4, cancel: 2 };

/**
 * A CPU window's figures per group: ms per cycle, ms per request and cores used (CPU ms per wall
 * ms). `names` maps the window's group keys to the names the report uses.
 */
function cpuFigures(measured, cycles, requestsPerCycle, names) {
  const groups = {};
  for (const [key, name] of Object.entries(names)) {
    const ms = measured.cpuMs[key];
    if (ms === undefined) continue;
    groups[name] = {
      cpuMs: ms,
      msPerCycle: cycles > 0 ? round(ms / cycles, 2) : null,
      msPerRequest: cycles > 0 ? round(ms / (cycles * requestsPerCycle), 2) : null,
      cores: round(ms / measured.wallMs, 2),
    };
  }
  return { wallMs: round(measured.wallMs, 0), backends: measured.backends, groups };
}

/**
 * pgbench on one of bench/pgbench/*.sql at the level's concurrency: `sql` is 'service' (the
 * service's statements, prepared once per connection as the service sends them), 'minimal' (the
 * business operation's least SQL, assign → cancel only, each statement parsed and planned on every
 * execution: the baseline of the goals) or 'minimal-prepared' (the same, prepared: a stricter baseline).
 */
async function pgbenchRun(ctx, cycle, clients, repeat, sql = 'service') {
  const free = await freeConnections(ctx.db, 20);
  const connections = Math.max(1, Math.min(clients, free));
  const seconds = ctx.options.durationSeconds;
  let script;
  const variables = { webhooks: ctx.receiver ? 1 : 0 };
  if (cycle === 'cancel') {
    variables.tag = `pgb-${{ service: 'ac', minimal: 'min', 'minimal-prepared': 'minp' }[sql]}-c${clients}-r${repeat}`;
    await seedIncidents(ctx.db, variables.tag, 1, connections, 'pending_approval');
    script = sql === 'service' ? 'assign_cancel.sql' : 'assign_cancel_minimal.sql';
  } else {
    const { rows } = await ctx.db.query('SELECT last_value, is_called FROM bench_pgbench_full_seq');
    const next = Number(rows[0].last_value) + (rows[0].is_called ? 1 : 0);
    const upTo = next + PGBENCH_INCIDENTS_PER_SECOND * seconds;
    await seedIncidents(ctx.db, 'pgb-full', Math.max(next, ctx.pgbenchFullSeeded + 1), upTo, 'detected');
    ctx.pgbenchFullSeeded = Math.max(ctx.pgbenchFullSeeded, upTo);
    script = 'full_cycle.sql';
  }
  const window = new CpuWindow({ database: ctx.databaseName });
  const mode = sql === 'minimal' ? 'extended' : 'prepared';
  const result = await runPgbench({ databaseUrl: ctx.databaseUrl, script, clients: connections, seconds, variables, mode });
  result.cpu = cpuFigures(window.stop(), result.cycles ?? 0, REQUESTS_PER_CYCLE[cycle], { childTool: 'pgbench', postgres: 'postgres' });
  if (ctx.receiver) await removePgbenchJobs(ctx.db);
  result.script = script;
  result.mode = mode;
  result.clientsRequested = clients;
  result.capped = connections < clients;
  if (!result.ok || result.failed > 0)
    fail(`pgbench ${script} at ${connections} clients: exit ${result.exitCode}, ${result.failed} failed, ${result.errors.join(' | ')}`);
  if (cycle === 'full' && result.cycles !== null && result.cycles >= PGBENCH_INCIDENTS_PER_SECOND * seconds)
    fail('pgbench ran out of seeded incidents');
  return result;
}

/** Starts the lean reference (bench/lean/server.mjs) as many processes as there are replicas, on the scratch database. */
async function startLean(ctx) {
  const env = { ...ctx.env };
  ctx.lean = range(ctx.options.replicas).map(
    (index) =>
      new Replica({
        index,
        root: ctx.options.root,
        env,
        logDir: ctx.workDir,
        name: 'lean',
        command: [path.join(benchDir, 'lean', 'server.mjs')],
      }),
  );
  const startMs = await Promise.all(ctx.lean.map((server) => server.start()));
  ctx.leanClient = new ServiceClient(
    ctx.lean.map((server) => server.baseUrl),
    { maxSockets: 1024 },
  );
  ctx.log(
    `${ctx.lean.length} lean reference process(es) ready in ${startMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}: ${ctx.lean.map((server) => server.baseUrl).join(' ')}`,
  );
}

async function stopLean(ctx) {
  ctx.leanClient?.close();
  await Promise.all((ctx.lean ?? []).map((server) => server.stop()));
  ctx.lean = undefined;
  ctx.leanClient = undefined;
}

/** One HTTP run of a cycle against `client` (the replicas or the lean processes), with its CPU window and checks. */
async function httpRun(ctx, { cycle, clients, repeat, target, client, groups }) {
  const acks = new Acknowledged();
  const pool =
    cycle === 'full' ? ctx.fullPool : assignCancelPool(ctx, `${target === 'lean' ? 'lean' : 'svc'}-ac-c${clients}-r${repeat}`, clients);
  if (cycle === 'cancel') await pool.fill();
  const cpuBefore = replicasCpuMs(ctx);
  const window = new CpuWindow({ groups, database: ctx.databaseName });
  const run = await runClients({
    client,
    tokens: ctx.tokens,
    specs: cycleSpecs(cycle, clients, pool),
    durationMs: ctx.options.durationSeconds * 1000,
    acks,
    stop: ctx.stop,
  });
  const measured = window.stop();
  // The machine is shared: the 1-minute load average says how busy it was with other work too.
  run.loadAverage = round(os.loadavg()[0], 2);
  run.replicaCpuMsPerCycle = round((replicasCpuMs(ctx) - cpuBefore) / run.cycles, 1);
  run.cpu = cpuFigures(measured, run.cycles, REQUESTS_PER_CYCLE[cycle], {
    [target]: target,
    ...(target === 'lean' ? { replicas: 'replicas' } : {}),
    postgres: 'postgres',
    loadClient: 'loadClient',
  });
  await pool.settle();
  const label = `${cycle} c=${clients} #${repeat + 1}${target === 'lean' ? ' lean' : ''}`;
  checkServerErrors(run, label);
  checkLoadErrors(run, label);
  const checks = await checkAfterRun(ctx, acks, label);
  return { run, checks, label };
}

async function loadPhase(ctx) {
  const { options, results } = ctx;
  // JIT, heap and connection pools warm up on an unrecorded run of both cycles: a replica's CPU per
  // request falls by about a third over its first 10-20 s of load, which the first recorded run
  // would otherwise carry.
  const warmAcks = new Acknowledged();
  const warmPool = assignCancelPool(ctx, 'warm-ac', 8);
  await warmPool.fill();
  await runClients({
    client: ctx.client,
    tokens: ctx.tokens,
    specs: [...cycleSpecs('full', 8, ctx.fullPool), ...cycleSpecs('cancel', 8, warmPool, 9)],
    durationMs: options.warmupSeconds * 1_000,
    acks: warmAcks,
  });
  await checkAfterRun(ctx, warmAcks, 'warm-up');
  const reference = options.cycles.includes('cancel');
  if (reference) {
    await startLean(ctx);
    const leanWarmAcks = new Acknowledged();
    const leanWarmPool = assignCancelPool(ctx, 'warm-lean-ac', 4);
    await leanWarmPool.fill();
    await runClients({
      client: ctx.leanClient,
      tokens: ctx.tokens,
      specs: cycleSpecs('cancel', 4, leanWarmPool),
      durationMs: options.warmupSeconds * 1_000,
      acks: leanWarmAcks,
    });
    await checkAfterRun(ctx, leanWarmAcks, 'lean warm-up');
  }
  try {
    const idle = await idleCpu(ctx);
    results.load = { idle, levels: await loadLevels(ctx) };
  } finally {
    if (reference) await stopLean(ctx);
  }
}

const replicaPids = (ctx) => () => ctx.replicas.map((replica) => replica.pid);
const leanPids = (ctx) => () => (ctx.lean ?? []).map((server) => server.pid);

/**
 * CPU per second of the replicas, the lean processes and the database's backends with no load (the
 * outbox drained): what they spend on timers, pollers and sweeps whatever the traffic. At low
 * throughput it is a visible part of the CPU per request.
 */
async function idleCpu(ctx) {
  const window = new CpuWindow({ groups: { replicas: replicaPids(ctx), lean: leanPids(ctx) }, database: ctx.databaseName });
  await sleep(ctx.options.smoke ? 1_000 : 5_000);
  const { wallMs, cpuMs } = window.stop();
  const perSecond = (ms) => round((1000 * ms) / wallMs, 1);
  const idle = {
    seconds: round(wallMs / 1000, 1),
    replicasMsPerSecond: perSecond(cpuMs.replicas),
    leanMsPerSecond: perSecond(cpuMs.lean),
    postgresMsPerSecond: perSecond(cpuMs.postgres),
  };
  ctx.log(
    `Idle CPU per second: replicas ${idle.replicasMsPerSecond} ms, lean ${idle.leanMsPerSecond} ms, PostgreSQL backends ${idle.postgresMsPerSecond} ms`,
  );
  return idle;
}

async function loadLevels(ctx) {
  const { options, log } = ctx;
  const levels = [];
  for (const cycle of options.cycles) {
    for (const clients of options.clients) {
      if (ctx.stop.aborted) break;
      const level = { cycle, clients, runs: [] };
      for (let repeat = 0; repeat < options.repeat && !ctx.stop.aborted; repeat += 1) {
        const {
          run: service,
          checks,
          label,
        } = await httpRun(ctx, { cycle, clients, repeat, target: 'replicas', client: ctx.client, groups: { replicas: replicaPids(ctx) } });
        const run = { service: figures(service), checks };
        if (ctx.pgbench && !ctx.stop.aborted) {
          run.pgbench = await pgbenchRun(ctx, cycle, clients, repeat);
          run.pgbenchInvariants = await checkInvariants(ctx.db);
          if (!run.pgbenchInvariants.ok) fail(`${label}: invariants after pgbench ${JSON.stringify(run.pgbenchInvariants)}`);
        }
        if (cycle === 'cancel' && ctx.pgbench && !ctx.stop.aborted) {
          run.pgbenchMinimal = await pgbenchRun(ctx, cycle, clients, repeat, 'minimal');
          run.pgbenchMinimalInvariants = await checkInvariants(ctx.db);
          if (!run.pgbenchMinimalInvariants.ok)
            fail(`${label}: invariants after the minimal-SQL pgbench ${JSON.stringify(run.pgbenchMinimalInvariants)}`);
          run.pgbenchMinimalPrepared = await pgbenchRun(ctx, cycle, clients, repeat, 'minimal-prepared');
          run.pgbenchMinimalPreparedInvariants = await checkInvariants(ctx.db);
          if (!run.pgbenchMinimalPreparedInvariants.ok)
            fail(`${label}: invariants after the prepared minimal-SQL pgbench ${JSON.stringify(run.pgbenchMinimalPreparedInvariants)}`);
        }
        if (cycle === 'cancel' && ctx.lean && !ctx.stop.aborted) {
          const lean = await httpRun(ctx, {
            cycle,
            clients,
            repeat,
            target: 'lean',
            client: ctx.leanClient,
            groups: { lean: leanPids(ctx), replicas: replicaPids(ctx) },
          });
          run.lean = figures(lean.run);
          run.leanChecks = lean.checks;
        }
        level.runs.push(run);
        const latency = service.latency;
        log(
          `${label}: service ${service.cyclesPerSecond.toFixed(1)} cycles/s (cycle p50 ${latency.cycle?.p50} p99 ${latency.cycle?.p99} ms, ` +
            `replicas ${service.cpu.groups.replicas.msPerRequest} ms CPU/request, PostgreSQL ${service.cpu.groups.postgres.msPerCycle} ms/cycle, errors ${JSON.stringify(service.errors)})` +
            (run.pgbench
              ? `, pgbench ${run.pgbench.cyclesPerSecond?.toFixed(1)} cycles/s with ${run.pgbench.clients} clients (cycle p99 ${run.pgbench.cycleLatency.p99} ms)`
              : '') +
            (run.pgbenchMinimal
              ? `, minimal SQL ${run.pgbenchMinimal.cyclesPerSecond?.toFixed(1)} cycles/s (PostgreSQL ${run.pgbenchMinimal.cpu.groups.postgres.msPerCycle} ms/cycle)`
              : '') +
            (run.lean
              ? `, lean ${run.lean.cyclesPerSecond.toFixed(1)} cycles/s (${run.lean.cpu.groups.lean.msPerRequest} ms CPU/request)`
              : '') +
            (checks.outbox ? `, outbox drained in ${(checks.outbox.waitedMs / 1000).toFixed(1)} s` : ''),
        );
      }
      if (level.runs.length === 0) break;
      level.median = medianOfRuns(level.runs);
      levels.push(level);
    }
  }
  return levels;
}

/** The median of each number over objects of the same shape (nulls and missing values ignored). */
function medianTree(objects) {
  const present = objects.filter((object) => object !== undefined && object !== null);
  if (present.length === 0) return null;
  if (typeof present[0] !== 'object') return median(present);
  const keys = new Set(present.flatMap((object) => Object.keys(object)));
  return Object.fromEntries([...keys].map((key) => [key, medianTree(present.map((object) => object[key]))]));
}

/** One tool's row of the side-by-side table: throughput, latency percentiles and CPU per group. */
function sideRow(run, kind) {
  if (!run) return undefined;
  if (kind === 'http') {
    const pick = (operation) => (run.latency[operation] ? { p50: run.latency[operation].p50, p99: run.latency[operation].p99 } : undefined);
    return {
      cyclesPerSecond: run.cyclesPerSecond,
      clients: null,
      latency: { cycle: pick('cycle'), assign: pick('assign'), cancel: pick('cancel') },
      cpu: run.cpu.groups,
    };
  }
  return {
    cyclesPerSecond: run.cyclesPerSecond,
    clients: run.clients,
    latency: { cycle: { p50: run.cycleLatency.p50, p99: run.cycleLatency.p99 } },
    cpu: run.cpu.groups,
  };
}

function medianOfRuns(runs) {
  const operations = new Set(runs.flatMap((run) => Object.keys(run.service.latency)));
  const latency = {};
  for (const operation of operations) {
    latency[operation] = Object.fromEntries(
      ['p50', 'p95', 'p99'].map((p) => [p, median(runs.map((run) => run.service.latency[operation]?.[p]))]),
    );
  }
  const service = median(runs.map((run) => run.service.cyclesPerSecond));
  const pgbenchRate = median(runs.map((run) => run.pgbench?.cyclesPerSecond));
  const sideBySide = {
    service: medianTree(runs.map((run) => sideRow(run.service, 'http'))),
    lean: medianTree(runs.map((run) => sideRow(run.lean, 'http'))),
    pgbenchService: medianTree(runs.map((run) => sideRow(run.pgbench, 'pgbench'))),
    pgbenchMinimal: medianTree(runs.map((run) => sideRow(run.pgbenchMinimal, 'pgbench'))),
    pgbenchMinimalPrepared: medianTree(runs.map((run) => sideRow(run.pgbenchMinimalPrepared, 'pgbench'))),
  };
  return {
    serviceCyclesPerSecond: round(service, 1),
    pgbenchCyclesPerSecond: round(pgbenchRate, 1),
    pgbenchClients: runs[0]?.pgbench?.clients ?? null,
    ratio: pgbenchRate ? round(service / pgbenchRate, 3) : null,
    latency,
    pgbenchCommitShare: median(runs.map((run) => run.pgbench?.commitShare)),
    replicaCpuMsPerCycle: median(runs.map((run) => run.service.replicaCpuMsPerCycle)),
    pgbenchCycleLatency: Object.fromEntries(
      ['p50', 'p95', 'p99'].map((p) => [p, median(runs.map((run) => run.pgbench?.cycleLatency?.[p]))]),
    ),
    loadAverage: median(runs.map((run) => run.service.loadAverage)),
    sideBySide: Object.fromEntries(Object.entries(sideBySide).filter(([, row]) => row !== null)),
    errors: runs.reduce(
      (sum, run) =>
        sum +
        Object.values(run.service.errors).reduce((a, b) => a + b, 0) +
        Object.values(run.lean?.errors ?? {}).reduce((a, b) => a + b, 0),
      0,
    ),
  };
}

/** CPU used so far by all replicas, in ms: per cycle, it is the service's own cost, whatever the machine's noise. */
function replicasCpuMs(ctx) {
  return ctx.replicas.reduce((sum, replica) => sum + (replica.cpuMs() ?? 0), 0);
}

/** Restarts a replica (same port) and points the client's keep-alive agent at the new process. */
async function runDecisionsPhase(ctx) {
  for (const failure of await decisionsPhase(ctx)) fail(failure);
}

async function restartReplica(ctx, replica, startOptions) {
  await replica.stop();
  const readyMs = await replica.start(startOptions);
  ctx.client.retarget(replica.index, replica.baseUrl);
  return readyMs;
}

async function profilePhase(ctx) {
  const { options, results, log } = ctx;
  const clients = options.clients.includes(32) ? 32 : options.clients[Math.floor(options.clients.length / 2)];
  const target = ctx.replicas[0];
  const profileDir = path.join(ctx.workDir, 'profiles');
  mkdirSync(profileDir, { recursive: true });
  await restartReplica(ctx, target, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
  // The profile starts with the process; only the load window is analysed.
  const { spawnedAt } = target;
  const acks = new Acknowledged();
  const loadStartedAt = Date.now();
  const cpuBefore = target.cpuMs();
  // The first of --cycles: `--phases=profile --cycles=cancel` profiles assign → cancel.
  const cycle = options.cycles[0] ?? 'full';
  const run = await runClients({
    client: ctx.client,
    tokens: ctx.tokens,
    specs: cycleSpecs(cycle, clients, ctx.fullPool),
    durationMs: options.durationSeconds * 1000,
    acks,
  });
  const loadEndedAt = Date.now();
  const cpuMs = target.cpuMs() - cpuBefore;
  checkServerErrors(run, 'profile run');
  const checks = await checkAfterRun(ctx, acks, 'profile run');
  // The profile is written when the process exits.
  await target.stop();
  await restartReplica(ctx, target);
  const file = newestCpuProfile(profileDir);
  const kept = path.join(ctx.outDir, `${ctx.stamp}-replica0.cpuprofile`);
  copyFileSync(file, kept);
  const analysis = analyzeCpuProfile(file, { fromMs: loadStartedAt - spawnedAt, toMs: loadEndedAt - spawnedAt });
  results.profile = {
    replica: 0,
    cycle,
    clients,
    seconds: options.durationSeconds,
    file: path.basename(kept),
    cyclesPerSecond: round(run.cyclesPerSecond, 1),
    cpuMs,
    checks,
    ...analysis,
  };
  log(
    `Profile: ${analysis.busyMs} ms busy of ${analysis.wallMs} ms; top owners (inclusive): ${analysis.byOwnerInclusive
      .slice(0, 6)
      .map((o) => `${o.owner} ${o.inclusivePercent}%`)
      .join(', ')}`,
  );
}

async function injectFault(ctx, fault) {
  const started = Date.now();
  if (fault === 'kill') {
    const victim = ctx.replicas[ctx.replicas.length - 1];
    await victim.kill();
    // A supervisor restarts it at once; the other replicas keep serving meanwhile.
    const readyMs = await victim.start();
    ctx.client.retarget(victim.index, victim.baseUrl);
    return { started, recoveredAfterMs: Date.now() - started, detail: { replica: victim.index, restartToReadyMs: readyMs } };
  }
  if (fault === 'pg-restart') {
    const version = readdirSync('/etc/postgresql').sort()[0];
    const restart = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { encoding: 'utf8' });
    if (restart.status !== 0) throw new Error(`pg_ctlcluster restart failed: ${restart.stderr}`);
    const restartMs = Date.now() - started;
    const ready = await Promise.all(ctx.replicas.map((replica) => waitForOk(replica.baseUrl, '/health/ready', 120_000)));
    if (ready.some((ms) => ms === null)) throw new Error('A replica did not become ready after the PostgreSQL restart');
    return { started, recoveredAfterMs: Date.now() - started, detail: { cluster: `${version}/main`, restartCommandMs: restartMs } };
  }
  // webhook: the receiver answers 503 for a while; the API must not notice.
  const downMs = ctx.options.smoke ? 2_000 : 15_000;
  await ctx.receiver.setFailing(true);
  await sleep(downMs);
  await ctx.receiver.setFailing(false);
  return { started, recoveredAfterMs: Date.now() - started, detail: { receiverFailingMs: downMs } };
}

async function faultsPhase(ctx) {
  const { options, results, log } = ctx;
  results.faults = [];
  const faultAtMs = 5_000;
  const afterMs = 15_000;
  const graceMs = 3_000;
  for (const fault of options.faults) {
    const acks = new Acknowledged();
    const recorder = new Recorder();
    const serverErrors = [];
    const stop = { aborted: false };
    const acPool = assignCancelPool(ctx, `fault-${fault}-ac`, 8);
    await acPool.fill();
    const specs = [...cycleSpecs('full', 8, ctx.fullPool), ...cycleSpecs('cancel', 8, acPool, 9)];
    log(`Fault ${fault}: 16 clients, fault after ${faultAtMs / 1000} s`);
    const load = runClients({ client: ctx.client, tokens: ctx.tokens, specs, durationMs: 10 * 60_000, acks, recorder, serverErrors, stop });
    await sleep(faultAtMs);
    let injected;
    try {
      injected = await injectFault(ctx, fault);
    } finally {
      await sleep(afterMs);
      stop.aborted = true;
    }
    const run = await load;
    const windowEnd = injected.started + injected.recoveredAfterMs + graceMs;
    const during = {};
    const outside = {};
    for (const error of recorder.errorTimeline) {
      const key = `${error.status} ${error.code ?? ''}`.trim();
      const bucket =
        error.at >= injected.started && error.at <= windowEnd && (error.status === 0 || error.status === 503) ? during : outside;
      bucket[key] = (bucket[key] ?? 0) + 1;
    }
    checkServerErrors(run, `fault ${fault}`);
    const checks = await checkAfterRun(ctx, acks, `fault ${fault}`, FAULT_DRAIN_TIMEOUT_MS);
    const webhooks = ctx.receiver ? await compareWebhookEvents(ctx.db, await ctx.receiver.snapshot()) : null;
    if (webhooks) checkWebhooks(webhooks, `fault ${fault}`);
    const entry = {
      fault,
      recoveredAfterMs: injected.recoveredAfterMs,
      detail: injected.detail,
      cycles: run.cycles,
      cyclesPerSecond: round(run.cyclesPerSecond, 1),
      errorsDuringFault: during,
      errorsOutsideFault: outside,
      serverErrors: run.serverErrors,
      checks,
      webhooks,
    };
    results.faults.push(entry);
    log(
      `Fault ${fault}: recovered after ${(injected.recoveredAfterMs / 1000).toFixed(1)} s; errors during ${JSON.stringify(during)}, outside ${JSON.stringify(outside)}; ` +
        `lost writes ${checks.acknowledged.lost}; invariants ${checks.invariants.ok ? 'ok' : 'VIOLATED'}${webhooks ? `; webhook events lost ${webhooks.lost}` : ''}`,
    );
  }
}

/** Requests answered (any status) and failed, over the operations of a recorder. */
function requestCounts(recorder) {
  const succeeded = ['assign', 'cancel'].reduce((sum, operation) => sum + recorder.count(operation), 0);
  const failed = Object.values(recorder.errorCounts()).reduce((sum, count) => sum + count, 0);
  return { sent: succeeded + failed, failed };
}

/**
 * Rolling restart behind HAProxy under steady assign → cancel load: each replica in turn gets
 * SIGTERM, is waited for, started again on its port and taken back by the balancer. The goal is no
 * failed request at all: readiness turns 503 at once, the replica serves on for
 * SHUTDOWN_DELAY_SECONDS while the balancer takes it out, and finishes what is in flight.
 */
async function rollingPhase(ctx) {
  const { results, log } = ctx;
  if (ctx.replicas.length < 2) throw new Error('--phases=rolling needs at least 2 replicas (--replicas=3)');
  const balancer = await startHaproxy(
    ctx.workDir,
    ctx.replicas.map((replica) => replica.port),
  );
  const client = new ServiceClient([balancer.url], { maxSockets: 256 });
  const clients = ctx.options.smoke ? 4 : 16;
  const steadyMs = ctx.options.smoke ? 2_000 : 5_000;
  const pool = assignCancelPool(ctx, 'rolling-ac', clients);
  await pool.fill();
  const acks = new Acknowledged();
  const specs = cycleSpecs('cancel', clients, pool);
  const windows = {};
  const run = async (name, durationMs, stop) => {
    const recorder = new Recorder();
    const serverErrors = [];
    const figuresOfRun = await runClients({ client, tokens: ctx.tokens, specs, durationMs, acks, stop, recorder, serverErrors });
    windows[name] = {
      ...requestCounts(recorder),
      seconds: round(figuresOfRun.seconds, 1),
      cyclesPerSecond: round(figuresOfRun.cyclesPerSecond, 1),
      latency: figuresOfRun.latency,
      errors: figuresOfRun.errors,
    };
  };
  const restarts = [];
  try {
    log(`Rolling restart of ${ctx.replicas.length} replicas behind HAProxy (${balancer.url}), ${clients} clients`);
    await run('before', steadyMs);
    const stop = { aborted: false };
    const during = run('during', 30 * 60_000, stop);
    try {
      for (const replica of ctx.replicas) {
        const started = Date.now();
        await replica.stop();
        const stoppedMs = Date.now() - started;
        const readyMs = await replica.start();
        // HAProxy takes a replica back after two good checks 300 ms apart.
        await sleep(1_000);
        restarts.push({ replica: replica.index, stoppedAfterMs: stoppedMs, readyAfterStartMs: readyMs, totalMs: Date.now() - started });
        log(`Replica ${replica.index}: stopped in ${(stoppedMs / 1000).toFixed(1)} s, ready in ${(readyMs / 1000).toFixed(1)} s`);
      }
    } finally {
      stop.aborted = true;
      await during;
    }
    await run('after', steadyMs);
  } finally {
    client.close();
    await balancer.stop();
    for (const replica of ctx.replicas) ctx.client.retarget(replica.index, replica.baseUrl);
  }
  await pool.settle();
  const checks = await checkAfterRun(ctx, acks, 'rolling restart');
  const total = Object.values(windows).reduce((sum, window) => ({ sent: sum.sent + window.sent, failed: sum.failed + window.failed }), {
    sent: 0,
    failed: 0,
  });
  results.rolling = { replicas: ctx.replicas.length, clients, haproxy: haproxyVersion(), restarts, windows, ...total, checks };
  if (total.failed > 0) fail(`rolling restart: ${total.failed} of ${total.sent} requests failed ${JSON.stringify(windows.during.errors)}`);
  log(
    `Rolling restart: ${total.sent} requests, ${total.failed} failed; during the restarts assign p50/p99 ${windows.during.latency.assign?.p50}/${windows.during.latency.assign?.p99} ms, ` +
      `cancel ${windows.during.latency.cancel?.p50}/${windows.during.latency.cancel?.p99} ms (before: assign ${windows.before.latency.assign?.p50}/${windows.before.latency.assign?.p99} ms)`,
  );
}

async function scalePhase(ctx) {
  const { options, results, log } = ctx;
  const shape = scaleShape(options.scaleReviews, options.scaleEngineers);
  log(`Seeding ${shape.engineers} engineers, ${shape.incidents} incidents, ${shape.reviews} reviews (${shape.open} open)…`);
  const seed = await seedScale(ctx.db, shape, log);
  const invariants = await checkInvariants(ctx.db);
  if (!invariants.ok) fail(`scale seed: invariants violated ${JSON.stringify(invariants)}`);
  const endpoints = scaleEndpoints();
  const samples = options.smoke ? 5 : 50;
  log(`Timing ${endpoints.length} list requests, ${samples} samples each…`);
  const timings = await timeEndpoints(ctx.client, ctx.tokens.admin, endpoints, samples);
  for (const timing of timings) {
    if (Object.keys(timing.statuses).some((status) => status !== '200'))
      fail(`scale: ${timing.path} answered ${JSON.stringify(timing.statuses)}`);
  }
  log("EXPLAIN ANALYZE of the repositories' statements…");
  const plans = await explainEndpoints(ctx.db, endpoints, { root: options.root, mode: ctx.mode });
  const bigTables = new Set(['reviews', 'incidents', 'engineers']);
  const seqScans = plans
    .filter((plan) => plan.seqScans.some((table) => bigTables.has(table)))
    .map((plan) => ({ endpoint: plan.endpoint, call: plan.call, tables: plan.seqScans }));
  const escalation = [];
  for (let pass = 0; pass < (options.smoke ? 1 : 3); pass += 1) {
    const response = await ctx.client.request('POST', '/api/v1/sla/escalations/run', { token: ctx.tokens.admin, body: {} });
    escalation.push({ status: response.status, ms: round(response.ms, 0), body: response.body });
    if (response.status === 404) break;
  }
  results.scale = { shape, seed, invariants, endpoints: timings, seqScans, escalation, plans };
  for (const timing of timings) log(`  ${timing.name.padEnd(40)} p50 ${timing.p50} ms  p99 ${timing.p99} ms`);
  log(`Escalation passes: ${escalation.map((pass) => `${pass.status} ${pass.ms} ms ${JSON.stringify(pass.body)}`).join('; ')}`);
  if (seqScans.length) log(`Sequential scans on big tables: ${JSON.stringify(seqScans)}`);
}

async function soakPhase(ctx) {
  const { options, results, log } = ctx;
  const durationMs = options.soakMinutes * 60_000;
  const acks = new Acknowledged();
  const acPool = assignCancelPool(ctx, 'soak-ac', 6);
  await acPool.fill();
  const specs = [...cycleSpecs('full', 8, ctx.fullPool), ...cycleSpecs('cancel', 6, acPool, 9), ...cycleSpecs('read', 2, undefined, 15)];
  const samples = [];
  const sample = (at) => {
    for (const replica of ctx.replicas)
      samples.push({ seconds: round(at / 1000, 0), replica: replica.index, rssMiB: round((replica.rssBytes() ?? NaN) / 2 ** 20, 1) });
  };
  const started = performance.now();
  sample(0);
  const timer = setInterval(() => sample(performance.now() - started), SOAK_SAMPLE_MS);
  log(`Soak: ${specs.length} clients (8 full, 6 assign-cancel, 2 readers) for ${options.soakMinutes} min`);
  let run;
  try {
    run = await runClients({ client: ctx.client, tokens: ctx.tokens, specs, durationMs, acks, stop: ctx.stop });
  } finally {
    clearInterval(timer);
  }
  sample(performance.now() - started);
  await ctx.fullPool.settle();
  checkServerErrors(run, 'soak');
  const checks = await checkAfterRun(ctx, acks, 'soak');
  const perReplica = ctx.replicas.map((replica) => {
    const series = samples.filter((entry) => entry.replica === replica.index);
    const afterOneMinute = series.find((entry) => entry.seconds >= 60) ?? series[0];
    return {
      replica: replica.index,
      startMiB: series[0].rssMiB,
      afterOneMinuteMiB: afterOneMinute.rssMiB,
      endMiB: series.at(-1).rssMiB,
      maxMiB: Math.max(...series.map((entry) => entry.rssMiB)),
    };
  });
  results.soak = {
    minutes: options.soakMinutes,
    clients: specs.length,
    cycles: run.cycles,
    cyclesPerSecond: round(run.cyclesPerSecond, 1),
    latency: run.latency,
    errors: run.errors,
    perReplica,
    samples,
    checks,
  };
  log(
    `Soak: ${run.cyclesPerSecond.toFixed(1)} cycles/s; RSS ${perReplica.map((r) => `replica ${r.replica}: ${r.startMiB} → ${r.endMiB} MiB (max ${r.maxMiB})`).join('; ')}`,
  );
}

process.exitCode = await main().catch((error) => {
  console.error(error);
  return 1;
});
