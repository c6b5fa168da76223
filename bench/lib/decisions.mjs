// The decisions phase: how fast held GET /incidents/{id}/decision requests answer after a decision
// (waiters spread over the replicas, decided through another), and how fast GET /api/v1/events
// fans an event out to many subscribers. Plain fetch against 127.0.0.1; every wait is bounded.
import { performance } from 'node:perf_hooks';
import { TextDecoder } from 'node:util';

import { benchEngineerId } from './identity.mjs';
import { round } from './stats.mjs';

const WAIT_SECONDS = 60;
const FANOUT_TIMEOUT_MS = 30_000;
const { AbortController } = globalThis;

function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : null);
  return { count: sorted.length, p50: round(at(0.5), 1), p95: round(at(0.95), 1), p99: round(at(0.99), 1), max: round(at(1), 1) };
}

async function api(baseUrl, method, path, token, body) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** An incident with a submitted review, ready for a decision. */
async function submittedIncident(ctx, baseUrl, engineerNumber, tag) {
  const { tokens } = ctx;
  const engineerId = benchEngineerId(engineerNumber);
  const incident = await api(baseUrl, 'POST', '/api/v1/incidents', tokens.admin, {
    title: `bench ${tag}`,
    severity: 'high',
    aiProposal: 'Restart the primary',
  });
  const review = await api(baseUrl, 'POST', '/api/v1/reviews', tokens.admin, { incidentId: incident.id, engineerId });
  await api(baseUrl, 'POST', `/api/v1/reviews/${review.id}/submit`, tokens.engineer(engineerId), { approach: 'Fail over to the replica' });
  return incident.id;
}

async function busyServiceConnections(ctx) {
  const { rows } = await ctx.db.query(
    `SELECT count(*)::int AS busy FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'engineer-review-service' AND state <> 'idle'`,
  );
  return rows[0].busy;
}

async function decisionLatency(ctx, waiters) {
  const urls = ctx.replicas.map((replica) => replica.baseUrl);
  const incidentId = await submittedIncident(ctx, urls[0], 1, 'long-poll');
  const answered = [];
  const errors = [];
  let decidedAt = 0;
  const held = Array.from({ length: waiters }, async (_, index) => {
    try {
      const body = await api(
        urls[index % urls.length],
        'GET',
        `/api/v1/incidents/${incidentId}/decision?waitSeconds=${WAIT_SECONDS}`,
        ctx.tokens.admin,
      );
      answered.push({ at: performance.now(), state: body.state });
    } catch (error) {
      errors.push(error.message.slice(0, 200));
    }
  });
  // Every waiter is held once the replicas have read each one's current state; give them time to.
  await new Promise((resolve) => setTimeout(resolve, Math.max(2_000, waiters * 3)));
  const busyWhileHeld = await busyServiceConnections(ctx);
  const early = answered.length;
  const sentAt = performance.now();
  await api(urls[urls.length - 1], 'POST', `/api/v1/incidents/${incidentId}/decision`, ctx.tokens.admin, {
    decision: 'engineer_approach',
    rationale: 'bench',
  });
  decidedAt = performance.now();
  await Promise.all(held);
  return {
    waiters,
    replicas: urls.length,
    answeredBeforeDecision: early,
    errors: errors.length,
    firstError: errors[0] ?? null,
    undecidedAnswers: answered.filter((answer) => answer.state !== 'decided').length,
    busyServiceConnectionsWhileHeld: busyWhileHeld,
    decisionRequestMs: round(decidedAt - sentAt, 1),
    wakeAfterDecisionResponseMs: percentiles(answered.map((answer) => answer.at - decidedAt)),
  };
}

/** Reads one SSE stream, recording when each event arrived (wall clock, as occurredAt is). */
function subscribe(baseUrl, token, lastEventId, signal, onEvent) {
  return (async () => {
    const res = await fetch(`${baseUrl}/api/v1/events`, {
      headers: { Authorization: `Bearer ${token}`, 'Last-Event-ID': lastEventId },
      signal,
    });
    if (res.status !== 200) throw new Error(`GET /api/v1/events: ${res.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .find((line) => line.startsWith('data: '));
          buffer = buffer.slice(end + 2);
          if (data) onEvent(JSON.parse(data.slice(6)), Date.now());
        }
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  })();
}

async function eventFanOut(ctx, subscribers, cycles) {
  const urls = ctx.replicas.map((replica) => replica.baseUrl);
  // A resume point: the newest sequenced event, so every subscriber starts at the same place.
  await submittedIncident(ctx, urls[0], 2, 'fan-out-start');
  let start;
  for (let attempt = 0; attempt < 50 && !start; attempt += 1) {
    const { rows } = await ctx.db.query(
      'SELECT id::text, position FROM review_events WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1',
    );
    const pending = await ctx.db.query('SELECT 1 FROM review_events WHERE position IS NULL LIMIT 1');
    if (pending.rowCount === 0) start = rows[0];
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stop = new AbortController();
  const received = Array.from({ length: subscribers }, () => new Map());
  const latencies = [];
  const errors = [];
  let duplicates = 0;
  const streams = received.map((seen, index) =>
    subscribe(urls[index % urls.length], ctx.tokens.admin, start.id, stop.signal, (event, at) => {
      if (seen.has(event.id)) duplicates += 1;
      seen.set(event.id, at);
      latencies.push(at - Date.parse(event.occurredAt));
    }).catch((error) => errors.push(error.message)),
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const started = performance.now();
  const queue = Array.from({ length: cycles }, (_, index) => index);
  await Promise.all(
    [3, 4, 5, 6].map(async (engineer) => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        const incidentId = await submittedIncident(ctx, urls[job % urls.length], engineer, `fan-out-${job}`);
        await api(urls[(job + 1) % urls.length], 'POST', `/api/v1/incidents/${incidentId}/decision`, ctx.tokens.admin, {
          decision: 'ai_approach',
          rationale: 'bench',
        });
      }
    }),
  );
  const writeSeconds = (performance.now() - started) / 1000;
  const expected = cycles * 3;
  const deadline = Date.now() + FANOUT_TIMEOUT_MS;
  while (received.some((seen) => seen.size < expected) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  stop.abort();
  await Promise.all(streams);
  return {
    subscribers,
    replicas: urls.length,
    events: expected,
    eventsPerSecondWritten: round(expected / writeSeconds, 1),
    complete: received.filter((seen) => seen.size === expected).length,
    errors: errors.length,
    duplicates,
    commitToReceiptMs: percentiles(latencies),
  };
}

export async function decisionsPhase(ctx) {
  const { options, results, log } = ctx;
  const waiters = options.smoke ? 100 : 1_000;
  const subscribers = options.smoke ? 20 : 100;
  const longPoll = await decisionLatency(ctx, waiters);
  log(`Long-poll: ${JSON.stringify(longPoll)}`);
  const fanOut = await eventFanOut(ctx, subscribers, options.smoke ? 5 : 20);
  log(`Event fan-out: ${JSON.stringify(fanOut)}`);
  results.decisions = { longPoll, fanOut };
  const failures = [];
  if (longPoll.errors > 0 || longPoll.undecidedAnswers > 0 || longPoll.answeredBeforeDecision > 0) {
    failures.push(
      `long-poll: ${longPoll.errors} errors, ${longPoll.undecidedAnswers} undecided answers, ${longPoll.answeredBeforeDecision} early`,
    );
  }
  if (fanOut.complete < subscribers || fanOut.duplicates > 0)
    failures.push(`event fan-out: ${fanOut.complete}/${subscribers} complete, ${fanOut.duplicates} duplicates`);
  return failures;
}
