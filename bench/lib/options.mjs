// Command-line flags of `npm run bench` (bench/run.mjs). Every loop the harness runs is bounded by
// these durations and counts, and every target is 127.0.0.1.
import path from 'node:path';
import { parseArgs } from 'node:util';

import { repoRoot } from './paths.mjs';

export const PHASES = ['load', 'decisions', 'profile', 'faults', 'rolling', 'scale', 'soak'];
/** Phases that run only when --phases names them. */
const OPT_IN_PHASES = ['faults', 'rolling'];
export const FAULTS = ['kill', 'pg-restart', 'webhook'];
export const CYCLES = ['full', 'cancel'];

const USAGE = `Usage: npm run bench -- [flags]

  --smoke                 under a minute: 1 replica, 2 s runs, small scale data, no profile/soak/faults
  --replicas=N            service replicas on the scratch database (default 2)
  --clients=LIST          concurrency levels (default 8,32,128)
  --duration=SECONDS      length of each load run (default 12)
  --warmup=SECONDS        unrecorded load before the load phase's first run, so that every run measures
                          replicas past their JIT warm-up (default 20; --smoke 1)
  --repeat=N              runs per level and tool; the report shows medians (default 1)
  --cycles=LIST           full (assign, start, submit, decide) and/or cancel (assign, cancel); default both.
                          cancel levels also run the lean reference (bench/lean/server.mjs, one process
                          per replica) and pgbench on bench/pgbench/assign_cancel_minimal.sql; the
                          profile phase profiles the first cycle listed
  --phases=LIST           ${PHASES.join(',')} (default: all but faults and rolling; rolling
                          restarts every replica one at a time behind HAProxy under load: use --replicas=3)
  --faults=LIST           ${FAULTS.join(',')}: run the faults phase with these (pg-restart restarts the
                          machine's PostgreSQL cluster: opt-in only)
  --soak-minutes=N        mixed load before/after RSS (default 10)
  --scale-reviews=N       reviews seeded for the scale phase (default 1000000)
  --scale-engineers=N     engineers seeded for the scale phase (default 10000)
  --pool-max=N            DATABASE_POOL_MAX of each replica (default 10)
  --webhooks=on|off       WEBHOOK_URL pointing at a local receiver (default on)
  --service=dist|source   run the built service (dist/, default) or the TypeScript sources through swc
  --root=DIR              project tree whose dist/ is run (default: this repository)
  --build                 run \`npm run build\` in --root first
  --database-url=URL      PostgreSQL server for the scratch database (default $DATABASE_URL or local)
  --out=DIR               where results go (default bench/results; --smoke: a temporary folder)
  --keep-db               do not drop the scratch database at the end
`;

function list(value, allowed, flag) {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  for (const item of items) {
    if (allowed && !allowed.includes(item)) throw new Error(`${flag}: unknown value "${item}" (allowed: ${allowed.join(', ')})`);
  }
  return items;
}

function positiveInt(value, flag, max = Number.MAX_SAFE_INTEGER) {
  if (!/^[0-9]+$/.test(value)) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  const number = Number(value);
  if (number < 1 || number > max) throw new Error(`${flag} must be between 1 and ${max}`);
  return number;
}

export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean' },
      smoke: { type: 'boolean' },
      replicas: { type: 'string' },
      clients: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      repeat: { type: 'string' },
      cycles: { type: 'string' },
      phases: { type: 'string' },
      faults: { type: 'string' },
      'soak-minutes': { type: 'string' },
      'scale-reviews': { type: 'string' },
      'scale-engineers': { type: 'string' },
      'pool-max': { type: 'string' },
      webhooks: { type: 'string' },
      service: { type: 'string' },
      root: { type: 'string' },
      build: { type: 'boolean' },
      'database-url': { type: 'string' },
      out: { type: 'string' },
      'keep-db': { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const smoke = values.smoke === true;
  const faults = values.faults ? list(values.faults, FAULTS, '--faults') : [];
  if (smoke && faults.length) throw new Error('--smoke runs no faults');
  const defaultPhases = smoke
    ? ['load', 'decisions', 'scale']
    : PHASES.filter((phase) => !OPT_IN_PHASES.includes(phase) || (phase === 'faults' && faults.length > 0));
  const phases = values.phases ? list(values.phases, PHASES, '--phases') : defaultPhases;
  if (phases.includes('faults') && faults.length === 0) throw new Error('--phases=faults needs --faults=LIST');
  const webhooks = values.webhooks ?? 'on';
  if (!['on', 'off'].includes(webhooks)) throw new Error('--webhooks must be on or off');
  if (faults.includes('webhook') && webhooks === 'off') throw new Error('--faults=webhook needs --webhooks=on');
  const service = values.service ?? 'dist';
  if (!['dist', 'source'].includes(service)) throw new Error('--service must be dist or source');
  const clients = values.clients ? list(values.clients).map((item) => positiveInt(item, '--clients', 1000)) : smoke ? [2, 4] : [8, 32, 128];
  return {
    smoke,
    replicas: values.replicas ? positiveInt(values.replicas, '--replicas', 8) : smoke ? 1 : 2,
    clients,
    durationSeconds: values.duration ? positiveInt(values.duration, '--duration', 600) : smoke ? 2 : 12,
    warmupSeconds: values.warmup ? positiveInt(values.warmup, '--warmup', 600) : smoke ? 1 : 20,
    repeat: values.repeat ? positiveInt(values.repeat, '--repeat', 20) : 1,
    cycles: values.cycles ? list(values.cycles, CYCLES, '--cycles') : [...CYCLES],
    phases,
    faults,
    soakMinutes: values['soak-minutes'] ? positiveInt(values['soak-minutes'], '--soak-minutes', 120) : 10,
    scaleReviews: values['scale-reviews']
      ? positiveInt(values['scale-reviews'], '--scale-reviews', 10_000_000)
      : smoke
        ? 20_000
        : 1_000_000,
    scaleEngineers: values['scale-engineers']
      ? positiveInt(values['scale-engineers'], '--scale-engineers', 1_000_000)
      : smoke
        ? 200
        : 10_000,
    poolMax: values['pool-max'] ? positiveInt(values['pool-max'], '--pool-max', 500) : 10,
    webhooks: webhooks === 'on',
    service,
    root: path.resolve(values.root ?? repoRoot),
    build: values.build === true,
    databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    out: values.out ? path.resolve(values.out) : undefined,
    keepDb: values['keep-db'] === true,
  };
}
