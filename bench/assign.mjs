#!/usr/bin/env node
// `npm run bench:assign`: the assign → cancel cycle at C concurrent clients against a service that is
// already running (BASE_URL, default http://127.0.0.1:3000; JWT_SECRET, the service's HS256 secret).
// Creates one engineer and a few incidents per client through the API, runs for --duration seconds,
// prints cycles/s and p50/p99 per operation, and soft-deletes its engineers at the end.
// Flags: --clients=N (default 32), --duration=SECONDS (default 10).
// The service's ASSIGN_RATE_LIMIT must allow the load (every assignment call counts): 429s are reported.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { Acknowledged } from './lib/database.mjs';
import { ServiceClient } from './lib/http-client.mjs';
import { Tokens } from './lib/identity.mjs';
import { ListPool, runClients } from './lib/workloads.mjs';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '32' }, duration: { type: 'string', default: '10' } } });
const clients = Number(values.clients);
const seconds = Number(values.duration);
if (!Number.isInteger(clients) || clients < 1 || clients > 1000) throw new Error('--clients must be an integer in 1..1000');
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) throw new Error('--duration must be an integer in 1..600 (seconds)');
const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const secret = process.env.JWT_SECRET;
if (!secret) throw new Error("JWT_SECRET (the running service's secret) is required");

/** Spare incidents per client, used after an assign or cancel whose outcome is unknown. */
const INCIDENTS_PER_CLIENT = 4;

const client = new ServiceClient([baseUrl], { maxSockets: clients + 8 });
const tokens = new Tokens(secret);
const run = randomUUID().slice(0, 8);

async function create(path, body) {
  const response = await client.request('POST', path, { token: tokens.admin, body });
  if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.id;
}

console.log(`Setting up ${clients} engineers and ${clients * INCIDENTS_PER_CLIENT} incidents on ${baseUrl}…`);
const engineers = [];
const specs = [];
for (let index = 0; index < clients; index += 1) {
  const engineerId = await create('/api/v1/engineers', {
    name: `bench:assign ${run} ${index}`,
    email: `bench-assign-${run}-${index}@bench.example`,
    maxConcurrentReviews: 50,
  });
  engineers.push(engineerId);
  const incidents = [];
  for (let n = 0; n < INCIDENTS_PER_CLIENT; n += 1) {
    incidents.push(
      await create('/api/v1/incidents', {
        title: `bench:assign ${run} ${index}/${n}`,
        severity: 'high',
        aiProposal: 'Restart the primary database',
      }),
    );
  }
  specs.push({ kind: 'cancel', engineerId, pool: new ListPool(incidents) });
}

console.log(`Running assign → cancel with ${clients} clients for ${seconds} s…`);
const result = await runClients({ client, tokens, specs, durationMs: seconds * 1000, acks: new Acknowledged() });
for (const engineerId of engineers) await client.request('DELETE', `/api/v1/engineers/${engineerId}`, { token: tokens.admin });
client.close();

console.log(`\n${result.cycles} cycles in ${result.seconds.toFixed(1)} s: ${result.cyclesPerSecond.toFixed(1)} cycles/s`);
for (const [operation, stats] of Object.entries(result.latency)) {
  console.log(
    `  ${operation.padEnd(7)} n=${String(stats.count).padStart(6)}  p50 ${stats.p50} ms  p99 ${stats.p99} ms  max ${stats.max} ms`,
  );
}
if (Object.keys(result.errors).length) console.log(`Errors: ${JSON.stringify(result.errors)}`);
process.exitCode = result.cycles > 0 && result.serverErrors.length === 0 ? 0 : 1;
