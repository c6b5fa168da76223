// The scratch database: creation, migration, seeding by set-based SQL, and the checks run after
// every load run (invariants, acknowledged writes, webhook events).
import pg from 'pg';

import { applyMigrations } from '@app/prisma-engine';

import { ADMIN_SUB, benchUuid } from './identity.mjs';

const OPEN = `('assigned', 'in_progress', 'submitted')`;
/** assigned_by of the reviews pgbench writes: their webhook jobs are never run (see bench/pgbench/*.sql). */
export const PGBENCH_SUB = 'pgbench';

export function databaseUrlFor(serverUrl, name) {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function onServer(serverUrl, statement) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function createDatabase(serverUrl, name) {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`Unsafe database name ${name}`);
  await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
}

export async function dropDatabase(serverUrl, name) {
  await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Applies the migrations of the checkout at `root` with the engine of MIGRATE_ON_START. */
export function migrate(root, url) {
  return applyMigrations(url, { root });
}

/** Connections still free on the server, leaving `reserve` for everyone else. */
export async function freeConnections(db, reserve) {
  const { rows } = await db.query(
    `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - count(*)::int AS free
     FROM pg_stat_activity WHERE backend_type = 'client backend'`,
  );
  return Math.max(0, rows[0].free - reserve);
}

/** Engineers 1..count of the load phases, with room for every client's open reviews. */
export async function seedBenchEngineers(db, count) {
  await db.query(
    `INSERT INTO engineers (id, name, email, expertise, max_concurrent_reviews)
     SELECT bench_uuid('bench-engineer-' || g), 'Bench engineer ' || g, 'bench-engineer-' || g || '@bench.example', ARRAY['bench'], 50
     FROM generate_series(1, $1::int) g
     ON CONFLICT (id) DO NOTHING`,
    [count],
  );
}

/** Incidents `bench-<tag>-<n>` for n in [from, to], in the given status, no open review. */
export async function seedIncidents(db, tag, from, to, status) {
  if (to < from) return;
  await db.query(
    `INSERT INTO incidents (id, title, severity, ai_proposal, status)
     SELECT bench_uuid('bench-' || $1::text || '-' || g), 'Bench incident ' || g, 'high',
       'Roll back the last deployment of the payment service and drain the canary pool', $4::incident_status
     FROM generate_series($2::int, $3::int) g
     ON CONFLICT (id) DO NOTHING`,
    [tag, from, to, status],
  );
}

export function incidentId(tag, n) {
  return benchUuid(`bench-${tag}-${n}`);
}

/**
 * Incidents handed to HTTP clients one at a time; seeds the next batch in the background when it
 * runs low, so long runs never run dry (a client finding it empty stops, which the run reports).
 */
export class IncidentPool {
  constructor(db, tag, { status, batch }) {
    Object.assign(this, { db, tag, status, batch, seeded: 0, taken: 0, refilling: undefined, exhausted: 0 });
  }

  async fill() {
    const to = this.seeded + this.batch;
    await seedIncidents(this.db, this.tag, this.seeded + 1, to, this.status);
    this.seeded = to;
  }

  take() {
    if (this.seeded - this.taken < this.batch / 2 && !this.refilling) {
      this.refilling = this.fill().finally(() => (this.refilling = undefined));
    }
    if (this.taken >= this.seeded) {
      this.exhausted += 1;
      return undefined;
    }
    this.taken += 1;
    return incidentId(this.tag, this.taken);
  }

  async settle() {
    await this.refilling;
  }
}

/** The contract's invariants, computed from the tables themselves. Every count must be 0. */
export async function checkInvariants(db) {
  const { rows } = await db.query(
    `
    SELECT
      (SELECT count(*) FROM engineers WHERE current_review_count < 0 OR current_review_count > max_concurrent_reviews)::int AS "engineersOutOfRange",
      (SELECT count(*) FROM engineers e
         LEFT JOIN (SELECT engineer_id, count(*) AS open FROM reviews WHERE status IN ${OPEN} GROUP BY engineer_id) o ON o.engineer_id = e.id
       WHERE e.current_review_count <> coalesce(o.open, 0))::int AS "counterDrift",
      (SELECT count(*) FROM (SELECT incident_id FROM reviews WHERE status IN ${OPEN} GROUP BY incident_id HAVING count(*) > 1) several)::int
        AS "incidentsWithSeveralOpenReviews",
      (SELECT count(*) FROM incidents i WHERE i.open_review_id IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM reviews r WHERE r.id = i.open_review_id AND r.incident_id = i.id AND r.status IN ${OPEN}))::int AS "danglingOpenReviewPointers",
      (SELECT count(*) FROM reviews r WHERE r.status IN ${OPEN} AND NOT EXISTS (
         SELECT 1 FROM incidents i WHERE i.id = r.incident_id AND i.open_review_id = r.id))::int AS "openReviewsNotOnIncident",
      (SELECT count(*) FROM reviews r WHERE r.assigned_by IN ($1, $2) AND NOT EXISTS (
         SELECT 1 FROM audit_entries a WHERE a.entity_type = 'review' AND a.entity_id = r.id AND a.action = 'review.assigned'))::int
        AS "reviewsWithoutAssignedAudit"`,
    [ADMIN_SUB, PGBENCH_SUB],
  );
  const counts = rows[0];
  return { ...counts, ok: Object.values(counts).every((count) => count === 0) };
}

/** What the HTTP clients were told succeeded (2xx), by review id. */
export class Acknowledged {
  constructor() {
    this.assigned = new Map();
    this.started = new Set();
    this.submitted = new Set();
    this.cancelled = new Set();
    this.decided = new Map();
  }

  get size() {
    return this.assigned.size + this.started.size + this.submitted.size + this.cancelled.size + this.decided.size;
  }
}

/** Looks every acknowledged write up in the database; `lost` counts the ones not found as acknowledged. */
export async function verifyAcknowledged(db, acks) {
  const ids = [...new Set([...acks.assigned.keys(), ...acks.started, ...acks.submitted, ...acks.cancelled, ...acks.decided.keys()])];
  const found = new Map();
  for (let offset = 0; offset < ids.length; offset += 10_000) {
    const { rows } = await db.query(
      `SELECT id::text AS id, status::text AS status, incident_id::text AS "incidentId", engineer_id::text AS "engineerId",
         started_at IS NOT NULL AS started, submitted_at IS NOT NULL AS submitted, decision::text AS decision
       FROM reviews WHERE id = ANY($1::uuid[])`,
      [ids.slice(offset, offset + 10_000)],
    );
    for (const row of rows) found.set(row.id, row);
  }
  const lost = { assigned: 0, started: 0, submitted: 0, cancelled: 0, decided: 0 };
  const examples = [];
  const miss = (kind, id) => {
    lost[kind] += 1;
    if (examples.length < 10) examples.push({ kind, id, row: found.get(id) ?? null });
  };
  for (const [id, expected] of acks.assigned) {
    const row = found.get(id);
    if (!row || row.incidentId !== expected.incidentId || row.engineerId !== expected.engineerId) miss('assigned', id);
  }
  for (const id of acks.started) if (!found.get(id)?.started) miss('started', id);
  for (const id of acks.submitted) if (!found.get(id)?.submitted) miss('submitted', id);
  for (const id of acks.cancelled) if (found.get(id)?.status !== 'cancelled') miss('cancelled', id);
  for (const [id, decision] of acks.decided) {
    const row = found.get(id);
    const status = decision === 'engineer_approach' ? 'accepted' : 'rejected';
    if (row?.status !== status || row.decision !== decision) miss('decided', id);
  }
  const total = Object.values(lost).reduce((sum, count) => sum + count, 0);
  return { checked: acks.size, lost: total, lostByKind: lost, examples };
}

/**
 * pgbench queues a job per review like the service does, for a task no worker runs; removing them
 * after its run keeps graphile-worker's job table as the service alone would leave it.
 */
export async function removePgbenchJobs(db) {
  await db.query(
    `DELETE FROM graphile_worker._private_jobs
     WHERE task_id IN (SELECT id FROM graphile_worker._private_tasks WHERE identifier = 'bench.pgbench-undelivered')`,
  );
}

/** Events the service wrote for delivery (pgbench's stand-ins excluded), and how many are still undelivered. */
export async function outboxState(db) {
  const { rows } = await db.query(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE e.delivered_at IS NULL)::int AS undelivered
     FROM webhook_events e JOIN reviews r ON r.id = e.review_id WHERE r.assigned_by <> $1`,
    [PGBENCH_SUB],
  );
  return rows[0];
}

export async function waitForOutboxDrained(db, timeoutMs) {
  const started = Date.now();
  let state = await outboxState(db);
  while (state.undelivered > 0 && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    state = await outboxState(db);
  }
  return { ...state, waitedMs: Date.now() - started };
}

/** Compares the receiver's X-Webhook-Id set with the outbox: lost = written by the service, never received. */
export async function compareWebhookEvents(db, received) {
  const { rows } = await db.query(
    `SELECT e.id::text AS id, e.delivered_at IS NOT NULL AS delivered
     FROM webhook_events e JOIN reviews r ON r.id = e.review_id WHERE r.assigned_by <> $1`,
    [PGBENCH_SUB],
  );
  const inDatabase = new Set(rows.map((row) => row.id));
  const receivedIds = new Set(received.ids);
  let lost = 0;
  let undelivered = 0;
  for (const row of rows) {
    if (!receivedIds.has(row.id)) lost += 1;
    if (!row.delivered) undelivered += 1;
  }
  let unknown = 0;
  for (const id of receivedIds) if (!inDatabase.has(id)) unknown += 1;
  return {
    events: rows.length,
    received: receivedIds.size,
    deliveries: received.deliveries,
    duplicates: received.deliveries - receivedIds.size,
    badSignatures: received.badSignatures,
    lost,
    undelivered,
    receivedButNotInOutbox: unknown,
  };
}
