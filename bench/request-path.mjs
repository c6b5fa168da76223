#!/usr/bin/env node
// CPU per request of the service's own request path: a public probe, an authenticated read of one row,
// a body refused by validation, an unknown route, and the assign → cancel cycle (two transactions,
// each client on its own engineer and incident, so no lock waits; counted per request). One
// replica on 127.0.0.1, a scratch database; every run is bounded by --seconds and every loop by
// --runs. Several builds (--dist=DIR,DIR: copies of dist/, e.g. before and after a change) are
// measured side by side, their runs interleaved, so that the machine's load weighs on each alike.
// The replica's CPU is read from /proc (schedstat of all its threads), not from the process itself.
//
//   node bench/request-path.mjs [--dist=dist,bench/results/tmp/dist-before] [--clients=8]
//     [--seconds=3] [--runs=5] [--warmup=10] [--scenarios=live,engineer,invalid,unknown,cycle] [--profile=DIR]
//
// Each build first runs every chosen scenario for --warmup seconds, unrecorded (not under --profile,
// whose window starts at the replica's start).
//
// --profile runs the first build once under `node --cpu-prof` instead, and prints the time per
// owner (package or our module) and the top functions over the load window.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { pidCpuMs } from './lib/cpu.mjs';
import { createDatabase, databaseUrlFor, dropDatabase, incidentId, migrate, seedBenchEngineers, seedIncidents } from './lib/database.mjs';
import { BENCH_UUID_FUNCTION, benchEngineerId, Tokens } from './lib/identity.mjs';
import { repoRoot } from './lib/paths.mjs';
import { analyzeCpuProfile, newestCpuProfile } from './lib/profile.mjs';
import { Replica } from './lib/replicas.mjs';
import { median } from './lib/stats.mjs';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '10' },
    scenarios: { type: 'string', default: 'live,engineer,invalid,unknown,cycle' },
    profile: { type: 'string' },
    'database-url': { type: 'string', default: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' },
  },
});
const clients = Math.min(64, Math.max(1, Number(values.clients)));
const seconds = Math.min(30, Math.max(1, Number(values.seconds)));
const runs = Math.min(20, Math.max(1, Number(values.runs)));
const warmupSeconds = Math.min(60, Math.max(0, Number(values.warmup)));
const builds = values.dist.split(',').map((dir) => path.resolve(repoRoot, dir));

/**
 * Each scenario's `run(agent, port, client)` sends one iteration and resolves to the number of requests
 * it made; an answer with another status than expected aborts (a broken setup measures nothing).
 */
function scenarios(tokens) {
  const single = (request) => ({
    run: async (agent, port) => {
      const { status } = await send(agent, port, request);
      if (status !== request.status) throw new Error(`${request.method} ${request.path}: ${status}, expected ${request.status}`);
      return 1;
    },
  });
  const engineer = benchEngineerId(1);
  return {
    live: single({ method: 'GET', path: '/health/live', status: 200 }),
    engineer: single({ method: 'GET', path: `/api/v1/engineers/${engineer}`, token: tokens.admin, status: 200 }),
    invalid: single({
      method: 'POST',
      path: '/api/v1/reviews',
      token: tokens.admin,
      body: JSON.stringify({ incidentId: 'not-a-uuid', engineerId: engineer }),
      status: 400,
    }),
    unknown: single({ method: 'GET', path: '/api/v1/no-such-route', token: tokens.admin, status: 404 }),
    cycle: {
      run: async (agent, port, client) => {
        const assign = {
          method: 'POST',
          path: '/api/v1/reviews',
          token: tokens.admin,
          body: JSON.stringify({
            incidentId: incidentId(CYCLE_TAG, client + 1),
            engineerId: benchEngineerId(client + 1),
            priority: 'normal',
          }),
        };
        const assigned = await send(agent, port, assign);
        if (assigned.status !== 201) throw new Error(`assign: ${assigned.status} ${assigned.body}`);
        const cancel = {
          method: 'POST',
          path: `/api/v1/reviews/${JSON.parse(assigned.body).id}/cancel`,
          token: tokens.admin,
          body: JSON.stringify({ reason: 'bench: request path' }),
        };
        const cancelled = await send(agent, port, cancel);
        if (cancelled.status !== 200) throw new Error(`cancel: ${cancelled.status} ${cancelled.body}`);
        return 2;
      },
    },
  };
}

const CYCLE_TAG = 'request-path';

function send(agent, port, request) {
  const headers = { accept: 'application/json' };
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  if (request.body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(request.body) });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(request.body);
  });
}

/** `clients` loops running `scenario` for `forSeconds`; resolves to the number of requests answered. */
async function load(agent, port, scenario, forSeconds) {
  const deadline = performance.now() + forSeconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (performance.now() < deadline) {
        // Not `count += await …`: that reads `count` before the await and drops the other clients' answers.
        const answered = await scenario.run(agent, port, client);
        count += answered;
      }
    }),
  );
  return count;
}

/** `clients` keep-alive loops (after one second of warm-up) for `seconds`; the replica's CPU over the window divided by the answers. */
async function measure(replica, scenario) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  await load(agent, replica.port, scenario, 1);
  const cpuBefore = pidCpuMs(replica.pid);
  const started = performance.now();
  const count = await load(agent, replica.port, scenario, seconds);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = pidCpuMs(replica.pid) - cpuBefore;
  agent.destroy();
  return { cpuPerRequestMs: cpu / count, requestsPerSecond: count / elapsed, cores: cpu / 1000 / elapsed };
}

async function main() {
  const databaseName = `ers_reqpath_${process.pid}`;
  const databaseUrl = databaseUrlFor(values['database-url'], databaseName);
  const workDir = path.join(repoRoot, 'bench', 'results', 'tmp', databaseName);
  mkdirSync(workDir, { recursive: true });
  await createDatabase(values['database-url'], databaseName);
  const replicas = [];
  try {
    await migrate(repoRoot, databaseUrl);
    const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    await db.query(BENCH_UUID_FUNCTION);
    await seedBenchEngineers(db, clients);
    await seedIncidents(db, CYCLE_TAG, 1, clients, 'detected');
    await db.end();
    const secret = randomBytes(32).toString('hex');
    const tokens = new Tokens(secret);
    const env = { DATABASE_URL: databaseUrl, JWT_SECRET: secret, DATABASE_POOL_MAX: '4', ASSIGN_RATE_LIMIT: '100000000' };
    const available = scenarios(tokens);
    const chosen = values.scenarios.split(',').filter((name) => available[name]);

    if (values.profile) {
      const profileDir = path.resolve(values.profile);
      mkdirSync(profileDir, { recursive: true });
      const replica = new Replica({
        index: 0,
        root: repoRoot,
        env,
        logDir: workDir,
        command: [path.join(builds[0], 'apps', 'api', 'src', 'main.js')],
      });
      replicas.push(replica);
      const spawned = performance.now();
      await replica.start({ nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
      const fromMs = performance.now() - spawned;
      for (const name of chosen) console.log(name, JSON.stringify(await measure(replica, available[name])));
      const toMs = performance.now() - spawned;
      await replica.stop();
      const file = newestCpuProfile(profileDir);
      const analysis = analyzeCpuProfile(file, { fromMs, toMs, top: 40 });
      console.log(JSON.stringify(analysis, null, 1));
      return;
    }

    for (const [index, build] of builds.entries()) {
      const replica = new Replica({
        index,
        root: repoRoot,
        env,
        logDir: workDir,
        command: [path.join(build, 'apps', 'api', 'src', 'main.js')],
      });
      replicas.push(replica);
      await replica.start();
    }
    // A replica's CPU per request falls by about a third over its first 10-20 s of load (JIT, heap).
    for (const replica of replicas) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
      for (const name of chosen) await load(agent, replica.port, available[name], warmupSeconds);
      agent.destroy();
    }
    const results = new Map();
    for (let run = 0; run < runs; run += 1) {
      for (const name of chosen) {
        for (const [index, replica] of replicas.entries()) {
          const key = `${name}\t${path.relative(repoRoot, builds[index])}`;
          const list = results.get(key) ?? [];
          list.push(await measure(replica, available[name]));
          results.set(key, list);
        }
      }
    }
    console.log(`${clients} keep-alive clients, ${seconds} s per run, median of ${runs} runs (replica CPU from /proc)`);
    console.log('scenario\tbuild\tCPU ms/request\trequests/s\treplica cores');
    for (const [key, list] of results) {
      const cell = (field, digits) => median(list.map((entry) => entry[field])).toFixed(digits);
      console.log(`${key}\t${cell('cpuPerRequestMs', 3)}\t${cell('requestsPerSecond', 0)}\t${cell('cores', 2)}`);
    }
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await dropDatabase(values['database-url'], databaseName);
  }
}

await main();
