#!/usr/bin/env node
// `npm run bench:abuse`: how long the worst bodies under 1 MiB keep one replica from answering.
//
// Starts one replica of the built service (run `npm run build` first, or pass --build) on a scratch
// database, then sends each abusive shape (flat and nested keys, deep nesting, long strings, huge
// arrays, many failing fields, inherited-name keys, U+0000, and the biggest valid-looking body of
// every POST/PATCH endpoint read from /docs-json), with and without Idempotency-Key, while a probe
// sends GET /health/live to the same replica back to back. The stall of a shape is the slowest probe
// answer overlapping its request; the report gives the median over --reps repetitions against the
// contract's 100 ms. Writes bench/results/<stamp>-abuse.md and .json. Every loop is bounded.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { createDatabase, databaseUrlFor, dropDatabase, migrate } from './lib/database.mjs';
import { ServiceClient } from './lib/http-client.mjs';
import { Tokens } from './lib/identity.mjs';
import { benchDir, repoRoot } from './lib/paths.mjs';
import { Replica } from './lib/replicas.mjs';
import { median, round } from './lib/stats.mjs';

const USAGE = `Usage: npm run bench:abuse -- [flags]

  --reps=N             repetitions per shape; the median stall is reported (default 3)
  --only=LIST          run only the shapes whose name contains one of these comma-separated texts
  --root=DIR           project tree whose dist/ is run (default: this repository)
  --build              run \`npm run build\` in --root first
  --database-url=URL   PostgreSQL server for the scratch database (default $DATABASE_URL or local)
  --out=DIR            where results go (default bench/results)
  --label=TEXT         added to the report's title and file name (e.g. before)
`;

const { values } = parseArgs({
  options: {
    help: { type: 'boolean' },
    reps: { type: 'string', default: '3' },
    only: { type: 'string' },
    root: { type: 'string' },
    build: { type: 'boolean' },
    'database-url': { type: 'string' },
    out: { type: 'string' },
    label: { type: 'string' },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 1 || reps > 20) throw new Error('--reps must be an integer in 1..20');
const root = path.resolve(values.root ?? repoRoot);
const serverUrl = values['database-url'] ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const outDir = path.resolve(values.out ?? path.join(benchDir, 'results'));

const BOUND_MS = 100;
const MAX_BODY_BYTES = 1024 * 1024;
/** Every abusive body stays this far under the 1 MiB limit (a 413 is not what is measured). */
const BODY_TARGET = MAX_BODY_BYTES - 1024;
/** After the answer, the probe keeps going this long: work done after responding (storing a key) counts too. */
const SETTLE_MS = 50;
const REQUEST_TIMEOUT_MS = 60_000;

const log = (message) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

/** JSON text `prefix item(0) , item(1) … suffix` with as many items as fit in the target size. */
function fill(prefix, item, suffix, target = BODY_TARGET) {
  const parts = [prefix];
  let size = prefix.length + suffix.length;
  for (let index = 0; ; index += 1) {
    const next = (index === 0 ? '' : ',') + item(index);
    if (size + next.length > target) break;
    parts.push(next);
    size += next.length;
  }
  parts.push(suffix);
  return parts.join('');
}

function deep(open, close, leaf) {
  const levels = Math.floor((BODY_TARGET - 40) / (open.length + close.length));
  return `{"extra":${open.repeat(levels)}${leaf}${close.repeat(levels)}}`;
}

const longKey = (index) => `${index}-${'k'.repeat(990)}`;
const INHERITED = Object.getOwnPropertyNames(Object.prototype).filter((name) => name !== '__proto__');

/** Shapes that do not depend on an endpoint's fields: sent to POST /engineers unless said otherwise. */
function genericShapes() {
  const engineers = { method: 'POST', path: '/api/v1/engineers' };
  return [
    { name: 'flat keys (~90 000)', ...engineers, body: () => fill('{', (i) => `"k${i}":0`, '}') },
    {
      name: 'nested keys (one object of ~90 000)',
      ...engineers,
      body: () => fill('{"name":"a","email":"a@b.co","extra":{', (i) => `"k${i}":0`, '}}'),
    },
    {
      name: 'keys in array objects (~130 000 objects)',
      method: 'POST',
      path: '/api/v1/incidents',
      body: () => fill('{"title":"t","severity":"low","aiProposal":"p","requiredExpertise":[', () => '{"a":0}', ']}'),
    },
    { name: 'deep nesting, arrays (~500 000 levels)', ...engineers, body: () => deep('[', ']', '0') },
    { name: 'deep nesting, objects (~170 000 levels)', ...engineers, body: () => deep('{"a":', '}', '0') },
    { name: 'long string (1 MiB name)', ...engineers, body: () => `{"name":"${'x'.repeat(BODY_TARGET - 40)}","email":"a@b.co"}` },
    {
      name: 'long string of escapes (\\u00e9 × 170 000)',
      ...engineers,
      body: () => `{"name":"${'\\u00e9'.repeat(Math.floor((BODY_TARGET - 40) / 6))}","email":"a@b.co"}`,
    },
    { name: 'array of numbers (~500 000)', ...engineers, body: () => fill('{"name":"a","email":"a@b.co","expertise":[', () => '0', ']}') },
    {
      name: 'array of distinct strings (~110 000)',
      method: 'POST',
      path: '/api/v1/incidents',
      body: () => fill('{"title":"t","severity":"low","aiProposal":"p","requiredExpertise":[', (i) => `"t${i}"`, ']}'),
    },
    {
      name: 'array of equal strings (~260 000)',
      method: 'POST',
      path: '/api/v1/incidents',
      body: () => fill('{"title":"t","severity":"low","aiProposal":"p","requiredExpertise":[', () => '"a"', ']}'),
    },
    {
      name: 'array of empty objects (~350 000)',
      method: 'POST',
      path: '/api/v1/incidents',
      body: () => fill('{"title":"t","severity":"low","aiProposal":"p","requiredExpertise":[', () => '{}', ']}'),
    },
    {
      name: 'array of empty arrays (~350 000)',
      ...engineers,
      body: () => fill('{"name":"a","email":"a@b.co","expertise":[', () => '[]', ']}'),
    },
    { name: 'whole body an array of objects (~350 000)', ...engineers, body: () => fill('[', () => '{}', ']') },
    {
      name: 'many failing fields (999 keys of 1 000 chars)',
      ...engineers,
      body: () => `{${Array.from({ length: 999 }, (_, i) => `"${longKey(i)}":0`).join(',')}}`,
    },
    {
      name: 'inherited-name keys (~1 000 in array objects)',
      ...engineers,
      body: () =>
        `{"extra":[${Array.from({ length: Math.floor(999 / INHERITED.length) }, () => `{${INHERITED.map((key) => `"${key}":0`).join(',')}}`).join(',')}]}`,
    },
    {
      name: '__proto__ keys (999 in array objects)',
      ...engineers,
      body: () => `{"extra":[${Array.from({ length: 999 }, () => '{"__proto__":{"polluted":1}}').join(',')}]}`,
    },
    {
      name: 'U+0000 strings (~130 000)',
      ...engineers,
      body: () => fill('{"name":"a","email":"a@b.co","expertise":[', () => '"\\u0000"', ']}'),
    },
    { name: 'U+0000 in 1 000 keys', ...engineers, body: () => `{${Array.from({ length: 999 }, (_, i) => `"k${i}\\u0000":0`).join(',')}}` },
    {
      name: 'flat keys to an unknown route',
      method: 'POST',
      path: '/api/v1/no-such-route',
      body: () => fill('{', (i) => `"k${i}":0`, '}'),
    },
    {
      name: 'flat keys without a token',
      method: 'POST',
      path: '/api/v1/engineers',
      token: null,
      body: () => fill('{', (i) => `"k${i}":0`, '}'),
    },
    {
      name: 'flat keys to a POST that takes no body',
      method: 'POST',
      path: '/api/v1/sla/escalations/run',
      body: () => fill('{', (i) => `"k${i}":0`, '}'),
    },
  ];
}

/** The largest value the schema allows (maxValid) or a string as big as the body allows (oversized). */
function valueFor(name, schema, { size, ids, n }) {
  if (schema.enum) return schema.enum[0];
  if (schema.type === 'integer') return schema.maximum ?? 1;
  if (schema.type === 'number') return schema.maximum ?? 1;
  if (schema.type === 'boolean') return true;
  if (schema.type === 'array') {
    const length = size === 'max' ? (schema.maxItems ?? 50) : 5_000;
    return Array.from({ length }, (_, i) => `${i}-`.padEnd(size === 'max' ? (schema.items?.maxLength ?? 64) : 40, 't'));
  }
  if (schema.format === 'uuid' || /Id$/.test(name))
    return size === 'max' ? (name === 'incidentId' ? ids.incident : ids.otherEngineer) : 'u'.repeat(size);
  if (schema.format === 'email') return `abuse-${n}-${randomBytes(4).toString('hex')}@example.com`;
  if (name === 'externalRef') return `abuse-${n}-${randomBytes(4).toString('hex')}`;
  return 'w'.repeat(size === 'max' ? (schema.maxLength ?? 1000) : size);
}

/** Per POST/PATCH endpoint of the OpenAPI document: every field at its maximum, and every string field as big as 1 MiB allows. */
function endpointShapes(document, ids) {
  const shapes = [];
  for (const [template, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!['post', 'patch'].includes(method) || !operation.requestBody) continue;
      const ref = operation.requestBody.content?.['application/json']?.schema?.$ref;
      if (!ref) continue;
      const schema = document.components.schemas[ref.split('/').pop()];
      const properties = Object.entries(schema.properties ?? {});
      const id = template.startsWith('/api/v1/engineers/')
        ? ids.drainEngineer
        : template.startsWith('/api/v1/incidents/')
          ? ids.incident
          : ids.review;
      const routePath = template.replace('{id}', id);
      const token = template.endsWith('/submit') ? 'engineer' : 'admin';
      const stringFields = properties.filter(([, property]) => property.type === 'string' && !property.enum).length || 1;
      const body = (size) => (n) =>
        JSON.stringify(Object.fromEntries(properties.map(([name, property]) => [name, valueFor(name, property, { size, ids, n })])));
      const label = `${method.toUpperCase()} ${template}`;
      shapes.push({
        name: `${label}: every field at its maximum`,
        method: method.toUpperCase(),
        path: routePath,
        token,
        body: body('max'),
      });
      shapes.push({
        name: `${label}: fields as big as 1 MiB allows`,
        method: method.toUpperCase(),
        path: routePath,
        token,
        body: body(Math.floor((BODY_TARGET - 250_000) / stringFields)),
      });
    }
  }
  return shapes;
}

/** GET /health/live back to back on its own connection; every answer's start and end are kept. */
class Probe {
  constructor(baseUrl) {
    this.url = new URL('/health/live', baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.samples = [];
    this.running = false;
  }

  once() {
    return new Promise((resolve) => {
      const request = http.get(this.url, { agent: this.agent }, (response) => {
        response.resume();
        response.on('end', resolve);
        response.on('error', resolve);
      });
      request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy());
      request.on('error', resolve);
    });
  }

  start() {
    this.running = true;
    this.done = (async () => {
      while (this.running) {
        const started = performance.now();
        await this.once();
        this.samples.push([started, performance.now()]);
        if (this.samples.length > 200_000) this.samples.splice(0, 100_000);
      }
    })();
  }

  /** Resolves once a probe sent after `mark` has come back. */
  async answeredSince(mark) {
    const deadline = Date.now() + REQUEST_TIMEOUT_MS;
    while (!this.samples.some(([started]) => started > mark) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** The slowest probe answer that overlaps [from, to]; waits for the probe in flight to come back. */
  async worstBetween(from, to) {
    await this.answeredSince(to);
    let worst = 0;
    for (const [started, ended] of this.samples) if (ended >= from && started <= to) worst = Math.max(worst, ended - started);
    return worst;
  }

  async stop() {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }
}

function send(baseUrl, { method, path: requestPath, token, body, idempotencyKey }) {
  const url = new URL(requestPath, baseUrl);
  const headers = { 'content-type': 'application/json', 'content-length': body.length };
  if (token) headers.authorization = `Bearer ${token}`;
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  return new Promise((resolve) => {
    const started = performance.now();
    const request = http.request(url, { method, headers, agent: false }, (response) => {
      let bytes = 0;
      response.on('data', (chunk) => (bytes += chunk.length));
      response.on('end', () => resolve({ status: response.statusCode, answerBytes: bytes, ms: performance.now() - started }));
    });
    request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve({ status: 0, answerBytes: 0, ms: performance.now() - started, error: error.message }));
    request.end(body);
  });
}

async function main() {
  const startedAt = new Date();
  const stamp = startedAt.toISOString().slice(0, 16).replace(':', '');
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ers-abuse-'));
  log(`Replica log in ${workDir}`);
  if (values.build) {
    log(`Building in ${root}…`);
    if (spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
  }
  const databaseName = `ers_abuse_${process.pid}`;
  const databaseUrl = databaseUrlFor(serverUrl, databaseName);
  await createDatabase(serverUrl, databaseName);
  let replica;
  let client;
  // Interrupted (a shape can hold a replica for minutes on a service without the limits): nothing is left behind.
  const onSignal = async () => {
    await replica?.kill();
    await dropDatabase(serverUrl, databaseName);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await migrate(root, databaseUrl);
    const secret = randomBytes(32).toString('hex');
    const tokens = new Tokens(secret);
    replica = new Replica({
      index: 0,
      root,
      mode: 'dist',
      env: { DATABASE_URL: databaseUrl, JWT_SECRET: secret, ASSIGN_RATE_LIMIT: '100000000', METRICS_PUBLIC: 'true' },
      logDir: workDir,
    });
    const startMs = await replica.start();
    log(`Replica ready in ${(startMs / 1000).toFixed(1)} s on ${replica.baseUrl} (${root})`);

    client = new ServiceClient([replica.baseUrl]);
    const create = async (requestPath, body) => {
      const response = await client.request('POST', requestPath, { token: tokens.admin, body });
      if (response.status >= 300) throw new Error(`POST ${requestPath}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body.id;
    };
    const engineer = await create('/api/v1/engineers', {
      name: 'Abuse owner',
      email: `abuse-owner-${process.pid}@example.com`,
      maxConcurrentReviews: 50,
    });
    const otherEngineer = await create('/api/v1/engineers', {
      name: 'Abuse other',
      email: `abuse-other-${process.pid}@example.com`,
      maxConcurrentReviews: 50,
    });
    const drainEngineer = await create('/api/v1/engineers', { name: 'Abuse drained', email: `abuse-drain-${process.pid}@example.com` });
    const incident = await create('/api/v1/incidents', { title: 'Abuse incident', severity: 'high', aiProposal: 'Restart' });
    const review = await create('/api/v1/reviews', { incidentId: incident, engineerId: engineer });
    const ids = { engineer, otherEngineer, drainEngineer, incident, review };
    const document = (await client.request('GET', '/docs-json')).body;

    const only = values.only?.split(',').filter(Boolean);
    const shapes = [...genericShapes(), ...endpointShapes(document, ids)].filter(
      (shape) => !only || only.some((text) => shape.name.includes(text)),
    );
    const tokenFor = (shape) => (shape.token === null ? undefined : shape.token === 'engineer' ? tokens.engineer(engineer) : tokens.admin);

    const probe = new Probe(replica.baseUrl);
    probe.start();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idleFrom = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idleStall = await probe.worstBetween(idleFrom, performance.now());
    log(`Idle: slowest probe ${idleStall.toFixed(1)} ms`);

    const rows = [];
    let n = 0;
    for (const shape of shapes) {
      for (const withKey of shape.method === 'POST' ? [false, true] : [false]) {
        const runs = [];
        for (let rep = 0; rep < reps; rep += 1) {
          n += 1;
          const body = Buffer.from(shape.body(n));
          const bytes = body.length;
          if (bytes > MAX_BODY_BYTES) throw new Error(`${shape.name}: ${bytes} bytes is over 1 MiB`);
          // Building a body of 500 000 parts takes time and leaves garbage here; collected, and a probe
          // answered since, neither can delay a probe callback inside the measured window.
          globalThis.gc?.();
          await probe.answeredSince(performance.now());
          const from = performance.now();
          const answer = await send(replica.baseUrl, {
            ...shape,
            token: tokenFor(shape),
            body,
            idempotencyKey: withKey ? `abuse-${process.pid}-${n}` : undefined,
          });
          await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
          const stall = await probe.worstBetween(from, performance.now());
          runs.push({ ...answer, stall, bytes });
        }
        const row = {
          shape: shape.name,
          method: shape.method,
          path: shape.path,
          idempotencyKey: withKey,
          bodyBytes: runs[0].bytes,
          statuses: [...new Set(runs.map((run) => run.status))],
          answerBytes: Math.max(...runs.map((run) => run.answerBytes)),
          requestMs: round(median(runs.map((run) => run.ms)), 1),
          stallMs: round(median(runs.map((run) => run.stall)), 1),
          worstStallMs: round(Math.max(...runs.map((run) => run.stall)), 1),
        };
        row.withinBound = row.stallMs <= BOUND_MS;
        rows.push(row);
        log(
          `${row.withinBound ? 'ok  ' : 'OVER'} ${row.stallMs.toFixed(1).padStart(8)} ms stall  ${String(row.requestMs).padStart(8)} ms request  ${row.statuses.join('/')}  ${shape.name}${withKey ? ' [Idempotency-Key]' : ''}`,
        );
      }
    }
    await probe.stop();
    const { rows: stored } = await queryStoredAnswers(databaseUrl);
    writeReport({ stamp, startedAt, rows, idleStall, stored });
    process.exitCode = rows.every((row) => row.withinBound && !row.statuses.some((status) => status >= 500 || status === 0)) ? 0 : 1;
  } finally {
    client?.close();
    await replica?.stop();
    await dropDatabase(serverUrl, databaseName);
  }
}

/** The biggest answers kept under an idempotency key: what a bad body costs the database. */
async function queryStoredAnswers(databaseUrl) {
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return await db.query(
      'SELECT status_code AS "status", max(octet_length(response_body::text)) AS "maxBytes", count(*)::int AS "count" FROM idempotency_records GROUP BY status_code ORDER BY status_code',
    );
  } finally {
    await db.end();
  }
}

function writeReport({ stamp, startedAt, rows, idleStall, stored }) {
  mkdirSync(outDir, { recursive: true });
  const suffix = values.label ? `-${values.label.replace(/[^a-z0-9-]/gi, '')}` : '';
  const base = path.join(outDir, `${stamp}-abuse${suffix}`);
  const over = rows.filter((row) => !row.withinBound);
  const kib = (bytes) => `${(bytes / 1024).toFixed(bytes < 10_240 ? 1 : 0)} KiB`;
  const lines = [
    `# Abuse benchmark ${stamp}${values.label ? ` (${values.label})` : ''}`,
    '',
    `${startedAt.toISOString()}, ${os.cpus().length} vCPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, ${reps} repetition(s) per shape, one replica of ${root}.`,
    `Stall: the slowest GET /health/live answer (sent back to back on its own connection) overlapping the request and the ${SETTLE_MS} ms after it; median over the repetitions. Idle: ${idleStall.toFixed(1)} ms.`,
    '',
    over.length === 0 ? `**Every shape within the ${BOUND_MS} ms bound.**` : `**${over.length} shape(s) over the ${BOUND_MS} ms bound.**`,
    '',
    '| shape | route | Idempotency-Key | body | answer | status | request ms | stall ms (median) | stall ms (max) | ≤ 100 ms |',
    '|---|---|:-:|--:|--:|---|--:|--:|--:|:-:|',
    ...rows.map(
      (row) =>
        `| ${row.shape} | \`${row.method} ${row.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')}\` | ${row.idempotencyKey ? 'yes' : ''} | ${kib(row.bodyBytes)} | ${kib(row.answerBytes)} | ${row.statuses.join(', ')} | ${row.requestMs} | ${row.stallMs} | ${row.worstStallMs} | ${row.withinBound ? 'yes' : '**no**'} |`,
    ),
    '',
    'Answers stored under an idempotency key, by status: ' +
      stored.map((row) => `${row.status ?? 'pending'}: ${row.count} (largest ${kib(Number(row.maxBytes ?? 0))})`).join('; '),
    '',
  ];
  writeFileSync(`${base}.md`, lines.join('\n'));
  writeFileSync(
    `${base}.json`,
    JSON.stringify({ startedAt: startedAt.toISOString(), root, reps, boundMs: BOUND_MS, idleStallMs: idleStall, rows, stored }, null, 2),
  );
  log(`Wrote ${base}.md and .json`);
}

await main();
