// The HTTP side of the benchmark: C client loops, each a chain of dependent requests (a cycle),
// bounded by a deadline and a cycle count. A custom loop rather than autocannon, because every
// request of a cycle needs the previous answer (the review id); latencies are recorded per
// operation and per cycle, and every 2xx is remembered for the after-run database check.
import { performance } from 'node:perf_hooks';

import { Recorder } from './stats.mjs';

const MAX_CYCLES_PER_CLIENT = 1_000_000;
/** Pause after a 503 or a connection error, as a well-behaved client would, so a fault is not a busy loop. */
const ERROR_PAUSE_MS = 50;

const APPROACH = 'Fail over to the secondary region, then replay the queued payments after verifying idempotency keys.';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Hands out a fixed list of incident ids, then nothing. */
export class ListPool {
  constructor(ids) {
    this.ids = ids;
    this.taken = 0;
  }

  take() {
    return this.ids[this.taken++];
  }
}

/**
 * Runs `specs` (one per client: { kind: 'full'|'cancel'|'read', engineerId, pool }) until `durationMs`
 * has passed or `stop.aborted` turns true. Resolves to the recorder's figures, cycles and failures.
 */
export async function runClients({ client, tokens, specs, durationMs, acks, stop, recorder = new Recorder(), serverErrors = [] }) {
  const deadline = Date.now() + durationMs;
  const running = () => Date.now() < deadline && !stop?.aborted;
  const counters = { cycles: { full: 0, cancel: 0, read: 0 }, failedCycles: 0, poolExhausted: 0 };

  const call = async (operation, method, path, token, body) => {
    const response = await client.request(method, path, { token, body });
    if (response.status >= 200 && response.status < 300) {
      recorder.ok(operation, response.ms);
      return response;
    }
    recorder.error(operation, response.status, response.body?.code ?? response.error);
    if (response.status >= 500 && response.status !== 503 && serverErrors.length < 20) {
      serverErrors.push({ operation, path, status: response.status, body: response.body, at: new Date().toISOString() });
    }
    counters.failedCycles += 1;
    if (response.status === 0 || response.status === 503) await sleep(ERROR_PAUSE_MS);
    return undefined;
  };

  const assign = async (incidentId, engineerId) => {
    const response = await call('assign', 'POST', '/api/v1/reviews', tokens.admin, { incidentId, engineerId, priority: 'normal' });
    if (!response) return undefined;
    acks.assigned.set(response.body.id, { incidentId, engineerId });
    return response.body.id;
  };

  const cancelLoop = async ({ engineerId, pool }) => {
    // The incident is kept while cycles succeed; after an unknown outcome the client takes a fresh one.
    let incidentId = pool.take();
    for (let n = 0; n < MAX_CYCLES_PER_CLIENT && running(); n += 1) {
      if (!incidentId) return void (counters.poolExhausted += 1);
      const started = performance.now();
      const reviewId = await assign(incidentId, engineerId);
      if (!reviewId) {
        incidentId = pool.take();
        continue;
      }
      const cancelled = await call('cancel', 'POST', `/api/v1/reviews/${reviewId}/cancel`, tokens.admin, {
        reason: 'bench: assign-cancel cycle',
      });
      if (!cancelled) {
        incidentId = pool.take();
        continue;
      }
      acks.cancelled.add(reviewId);
      recorder.ok('cycle', performance.now() - started);
      counters.cycles.cancel += 1;
    }
  };

  const fullLoop = async ({ engineerId, pool }) => {
    const engineerToken = tokens.engineer(engineerId);
    for (let n = 0; n < MAX_CYCLES_PER_CLIENT && running(); n += 1) {
      const incidentId = pool.take();
      if (!incidentId) return void (counters.poolExhausted += 1);
      const started = performance.now();
      const reviewId = await assign(incidentId, engineerId);
      if (!reviewId) continue;
      if (!(await call('start', 'POST', `/api/v1/reviews/${reviewId}/start`, engineerToken))) continue;
      acks.started.add(reviewId);
      const submitted = await call('submit', 'POST', `/api/v1/reviews/${reviewId}/submit`, engineerToken, {
        approach: APPROACH,
        analysis: 'Root cause: expired TLS certificate on the primary ingress.',
        confidence: 0.8,
      });
      if (!submitted) continue;
      acks.submitted.add(reviewId);
      const decision = n % 2 === 0 ? 'engineer_approach' : 'ai_approach';
      const decided = await call('decide', 'POST', `/api/v1/incidents/${incidentId}/decision`, tokens.admin, {
        decision,
        rationale: 'bench: decided',
      });
      if (!decided) continue;
      acks.decided.set(reviewId, decision);
      recorder.ok('cycle', performance.now() - started);
      counters.cycles.full += 1;
    }
  };

  const readLoop = async ({ engineerId }) => {
    const reads = [
      ['list-reviews', `/api/v1/reviews?engineerId=${engineerId}&pageSize=20`],
      ['available', '/api/v1/engineers/available?limit=10'],
      ['list-incidents', '/api/v1/incidents?status=pending_approval&pageSize=20'],
    ];
    for (let n = 0; n < MAX_CYCLES_PER_CLIENT && running(); n += 1) {
      const [operation, path] = reads[n % reads.length];
      if (await call(operation, 'GET', path, tokens.admin)) counters.cycles.read += 1;
    }
  };

  const loops = { full: fullLoop, cancel: cancelLoop, read: readLoop };
  const started = performance.now();
  await Promise.all(specs.map((spec) => loops[spec.kind](spec)));
  const seconds = (performance.now() - started) / 1000;
  const cycles = counters.cycles.full + counters.cycles.cancel;
  return {
    seconds,
    cycles,
    cyclesByKind: counters.cycles,
    cyclesPerSecond: cycles / seconds,
    failedCycles: counters.failedCycles,
    poolExhausted: counters.poolExhausted,
    latency: recorder.summary(),
    errors: recorder.errorCounts(),
    serverErrors,
    recorder,
  };
}
