#!/usr/bin/env node
// The lean reference of the benchmark (bench/README.md, "Reference rows"): the two endpoints of the
// assign → cancel cycle, POST /api/v1/reviews (manual assign) and POST /api/v1/reviews/{id}/cancel,
// on plain node:http and a pg Pool, without a framework. It sends the service's statements for these
// use cases (the repositories' SELECT and RETURNING lists, the audit insert under the seal gate, the
// event log under its gate, the outbox row with its delivery job when WEBHOOK_URL is set), checks the
// token as the service does (HS256 with JWT_SECRET, iss/aud when configured, exp, the lifetime cap,
// sub and roles) and the bodies by the DTOs' rules, and answers the happy path with the same status
// and JSON. What it leaves out is what the framework and its layers add: the difference in CPU per
// request between the service and this process is the framework's tax.
//
// Scope: incidents that are not detected/analyzing (the bench's assign → cancel incidents are
// pending_approval, so the service does not change their status), no Idempotency-Key, no rate limit.
// Environment: DATABASE_URL, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL_SECONDS (86400),
// DATABASE_POOL_MAX (10), LOCK_TIMEOUT_MS (5000), SLA_NORMAL_SECONDS… (the service's defaults),
// WEBHOOK_URL (only whether it is set matters: the service's own replicas deliver the events), HOST, PORT.
import { randomUUID } from 'node:crypto';
import http from 'node:http';

import { jwtVerify } from 'jose';
import pg from 'pg';

const env = process.env;
const int = (name, fallback) => (env[name] ? Number(env[name]) : fallback);

const CLOCK_TOLERANCE_SECONDS = 30;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_ATTEMPTS = 4;
const ROLES = new Set(['admin', 'engineer', 'service']);
const PRIORITIES = new Set(['low', 'normal', 'high', 'critical']);
const SLA_SECONDS = {
  critical: int('SLA_CRITICAL_SECONDS', 3600),
  high: int('SLA_HIGH_SECONDS', 14400),
  normal: int('SLA_NORMAL_SECONDS', 86400),
  low: int('SLA_LOW_SECONDS', 259200),
};
const CLOSED_INCIDENT_STATUSES = new Set(['approved', 'resolved']);
const maxTtlSeconds = int('JWT_MAX_TTL_SECONDS', 86_400);
const webhooks = Boolean(env.WEBHOOK_URL);
// The service's lock keys (libs/audit, libs/webhooks) and delivery job layout (delivery-queue.ts).
const AUDIT_SEAL_LOCK_KEY = 24225;
const EVENT_GATE_LOCK_KEY = 59361;
const DELIVER_REVIEW_TASK = 'webhooks.deliver-review';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

if (!env.JWT_SECRET || !env.DATABASE_URL) throw new Error('DATABASE_URL and JWT_SECRET are required');
const secret = Buffer.from(env.JWT_SECRET, 'utf8');
const verifyOptions = {
  algorithms: ['HS256'],
  clockTolerance: CLOCK_TOLERANCE_SECONDS,
  ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
  ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
};

const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: int('DATABASE_POOL_MAX', 10),
  connectionTimeoutMillis: 5_000,
  application_name: 'ers-bench-lean',
  options: `-c lock_timeout=${int('LOCK_TIMEOUT_MS', 5_000)}`,
});
pool.on('error', () => {});

const REVIEW = `r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId",
  r.status::text AS status, r.priority::text AS priority, r.assigned_at AS "assignedAt", r.started_at AS "startedAt",
  r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue,
  r.escalation_level::int AS "escalationLevel", r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence,
  r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt", r.decision_rationale AS "decisionRationale",
  r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt",
  r.assignment_strategy::text AS "assignmentStrategy", r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates",
  r.assignment_load_ratio AS "assignmentLoadRatio", r.created_at AS "createdAt", r.updated_at AS "updatedAt"`;
const ENGINEER = `e.id::text AS id, e.name, e.email, e.expertise, e.status::text AS status, e.is_available AS "isAvailable",
  e.max_concurrent_reviews AS "maxConcurrentReviews", e.current_review_count AS "currentReviewCount",
  e.last_assigned_at AS "lastAssignedAt", e.deleted_at AS "deletedAt", e.created_at AS "createdAt", e.updated_at AS "updatedAt"`;
const INCIDENT = `i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"`;

const SQL = {
  lockIncident: `SELECT ${INCIDENT} FROM incidents i WHERE i.id = $1::uuid FOR UPDATE`,
  lockEngineer: `SELECT ${ENGINEER} FROM engineers e WHERE e.id = $1::uuid FOR UPDATE`,
  findReview: `SELECT ${REVIEW} FROM reviews r WHERE r.id = $1::uuid`,
  lockReview: `SELECT ${REVIEW} FROM reviews r WHERE r.id = $1::uuid FOR UPDATE`,
  insertReview: `INSERT INTO reviews AS r (id, incident_id, engineer_id, status, priority, assigned_at, expected_completion_at,
      assignment_strategy, assigned_by, assignment_candidates, assignment_load_ratio, reassigned_from_id)
    VALUES (gen_random_uuid(), $1::uuid, $2::uuid, 'assigned', $3::review_priority,
      now(), now() + make_interval(secs => $4), $5::assignment_strategy, $6, $7, $8, $9::uuid)
    RETURNING ${REVIEW}`,
  recordAssignment: `UPDATE engineers AS e SET current_review_count = current_review_count + 1, last_assigned_at = now(), updated_at = now()
    WHERE e.id = $1::uuid RETURNING ${ENGINEER}`,
  releaseAssignment: `UPDATE engineers AS e SET current_review_count = current_review_count - 1, updated_at = now()
    WHERE e.id = $1::uuid RETURNING ${ENGINEER}`,
  setOpenReview: `UPDATE incidents AS i SET open_review_id = $1::uuid, updated_at = now() WHERE i.id = $2::uuid RETURNING ${INCIDENT}`,
  cancelReview: `UPDATE reviews AS r SET status = 'cancelled', cancelled_at = now(), cancellation_reason = $1, updated_at = now()
    WHERE r.id = $2::uuid RETURNING ${REVIEW}`,
  discardVotes: `DELETE FROM review_votes WHERE review_id = $1::uuid`,
  audit: `WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared($1::bigint))
    INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
    SELECT v.* FROM seal_gate, (VALUES ($2, $3::text[], $4::audit_action, $5::audit_entity_type,
      $6::uuid, $7::jsonb, $8::jsonb, $9)) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)`,
  eventLog: `WITH gate AS (SELECT pg_advisory_xact_lock_shared($1::bigint)),
    previous AS (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = $2::uuid)
    INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
    SELECT v.id, v.type, $3::uuid, $4::uuid, $5::uuid,
           GREATEST(clock_timestamp(), previous.at + interval '1 millisecond') + v.ord * interval '1 millisecond', v.payload
    FROM gate, previous, (VALUES ($6::int, $7::uuid, $8::text, $9::jsonb)) AS v(ord, id, type, payload)
    ORDER BY v.ord
    RETURNING id::text AS id, occurred_at AS "occurredAt"`,
  outbox: `WITH inserted AS (
      INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, traceparent)
      SELECT v.id, v.type, $1::uuid, v.occurred_at, v.payload, $2::text
      FROM (VALUES ($3::uuid, $4::text, $5::timestamptz, $6::jsonb)) AS v(id, type, occurred_at, payload)
      RETURNING id
    ),
    job AS (
      SELECT graphile_worker.add_job($7, json_build_object('reviewId', $8::text),
        queue_name => $9, job_key => $10, job_key_mode => 'preserve_run_at') AS queued
    )
    SELECT count(*) FROM inserted, job`,
};

class HttpError extends Error {
  constructor(status, code, detail, errors) {
    super(detail);
    Object.assign(this, { status, code, errors });
  }
}

const iso = (date) => (date ? date.toISOString() : null);

function reviewView(row) {
  return {
    id: row.id,
    incidentId: row.incidentId,
    engineerId: row.engineerId,
    status: row.status,
    priority: row.priority,
    assignedAt: row.assignedAt.toISOString(),
    startedAt: iso(row.startedAt),
    submittedAt: iso(row.submittedAt),
    expectedCompletionAt: row.expectedCompletionAt.toISOString(),
    overdue: row.overdue,
    escalationLevel: row.escalationLevel,
    lastEscalatedAt: iso(row.lastEscalatedAt),
    approach: row.approach,
    analysis: row.analysis,
    confidence: row.confidence,
    decision: row.decision,
    decisionMadeAt: iso(row.decisionMadeAt),
    decisionRationale: row.decisionRationale,
    decidedBy: row.decidedBy,
    cancelledAt: iso(row.cancelledAt),
    cancellationReason: row.cancellationReason,
    reassignedFromId: row.reassignedFromId,
    decisionOverdueAt: iso(row.decisionOverdueAt),
    assignment: {
      strategy: row.assignmentStrategy,
      assignedBy: row.assignedBy,
      candidates: row.assignmentCandidates,
      loadRatio: row.assignmentLoadRatio,
    },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The service's token rules (libs/auth/src/jwt.strategy.ts): signature, iss/aud, exp, lifetime cap, sub, roles. */
async function authenticate(request) {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header) : null;
  if (!match) throw new HttpError(401, 'UNAUTHENTICATED', 'Missing bearer token');
  let payload;
  try {
    ({ payload } = await jwtVerify(match[1], secret, verifyOptions));
  } catch {
    throw new HttpError(401, 'UNAUTHENTICATED', 'Invalid token');
  }
  const { sub, roles, exp } = payload;
  if (typeof exp !== 'number') throw new HttpError(401, 'UNAUTHENTICATED', 'Token has no exp claim');
  if (exp - Date.now() / 1000 > maxTtlSeconds + CLOCK_TOLERANCE_SECONDS)
    throw new HttpError(401, 'UNAUTHENTICATED', 'Token lifetime exceeds the accepted maximum');
  if (typeof sub !== 'string' || sub.trim() === '') throw new HttpError(401, 'UNAUTHENTICATED', 'Token has no sub claim');
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string' && ROLES.has(role)))
    throw new HttpError(401, 'UNAUTHENTICATED', 'Token roles are invalid');
  if (!roles.includes('admin')) throw new HttpError(403, 'FORBIDDEN', 'Missing permission reviews:assign');
  return { sub, roles: [...new Set(roles)] };
}

function readJson(request) {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type))
    return Promise.reject(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'));
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', 'Body over 1 MiB'));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'MALFORMED_JSON', 'Body is not valid JSON'));
      }
    });
  });
}

/** The DTO rules: a plain object, only the declared keys, each field checked; every failure listed. */
function validate(body, rules) {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'VALIDATION_FAILED', 'Body must be a JSON object');
  const errors = [];
  for (const key of Object.keys(body))
    if (!Object.hasOwn(rules, key)) errors.push({ field: key, message: `property ${key} should not exist` });
  const value = {};
  for (const [field, rule] of Object.entries(rules)) {
    const result = rule(body[field]);
    if (typeof result === 'string') errors.push({ field, message: result });
    else value[field] = result.value;
  }
  if (errors.length) throw new HttpError(400, 'VALIDATION_FAILED', 'Request validation failed', errors);
  return value;
}

const uuid = (input) => (typeof input === 'string' && UUID.test(input) ? { value: input } : 'must be a UUID');
const optionalPriority = (input) =>
  input === undefined ? { value: 'normal' } : PRIORITIES.has(input) ? { value: input } : 'must be one of low, normal, high, critical';
const reason = (input) => {
  if (typeof input !== 'string') return 'must be a string';
  const trimmed = input.trim();
  return trimmed.length >= 1 && trimmed.length <= 1000 ? { value: trimmed } : 'must be between 1 and 1000 characters';
};

/** One transaction; deadlocks and serialization failures retried like the service's TransactionRunner. */
async function transaction(work) {
  for (let attempt = 1; ; attempt += 1) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      const retryable = error.code === '40P01' || error.code === '40001';
      if (!retryable) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new HttpError(503, 'TRANSACTION_CONFLICT', 'Transaction conflict persisted');
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}

/** Audit row, event log row, and (with webhooks) the outbox row and its delivery job, as the service writes them. */
async function recordChange(client, actor, action, before, view) {
  await client.query(SQL.audit, [
    AUDIT_SEAL_LOCK_KEY,
    actor.sub,
    actor.roles,
    action,
    'review',
    view.id,
    before && JSON.stringify(before),
    JSON.stringify(view),
    actor.requestId,
  ]);
  const payload = JSON.stringify(view);
  const eventId = randomUUID();
  const { rows } = await client.query(SQL.eventLog, [
    EVENT_GATE_LOCK_KEY,
    view.id,
    view.id,
    view.incidentId,
    view.engineerId,
    0,
    eventId,
    action,
    payload,
  ]);
  if (!webhooks) return;
  const reviewId = view.id.toLowerCase();
  await client.query(SQL.outbox, [
    view.id,
    null,
    eventId,
    action,
    rows[0].occurredAt,
    payload,
    DELIVER_REVIEW_TASK,
    view.id,
    `webhooks:${reviewId.slice(-1)}`,
    `webhooks:review:${reviewId}`,
  ]);
}

async function assign(actor, body) {
  const input = validate(body, { incidentId: uuid, engineerId: uuid, priority: optionalPriority });
  return transaction(async (client) => {
    const incident = (await client.query(SQL.lockIncident, [input.incidentId])).rows[0];
    if (!incident) throw new HttpError(404, 'NOT_FOUND', `Incident ${input.incidentId} not found`);
    const engineer = (await client.query(SQL.lockEngineer, [input.engineerId])).rows[0];
    if (!engineer) throw new HttpError(404, 'NOT_FOUND', `Engineer ${input.engineerId} not found`);
    if (CLOSED_INCIDENT_STATUSES.has(incident.status))
      throw new HttpError(409, 'INCIDENT_CLOSED', `Incident ${incident.id} is ${incident.status}`);
    if (incident.openReviewId)
      throw new HttpError(409, 'INCIDENT_HAS_OPEN_REVIEW', `Incident ${incident.id} already has open review ${incident.openReviewId}`);
    if (engineer.deletedAt || engineer.status !== 'active')
      throw new HttpError(409, 'ENGINEER_UNAVAILABLE', `Engineer ${engineer.id} is not active`);
    if (engineer.currentReviewCount >= engineer.maxConcurrentReviews)
      throw new HttpError(409, 'ENGINEER_AT_CAPACITY', `Engineer ${engineer.id} is at capacity`);
    if (incident.status === 'detected' || incident.status === 'analyzing') {
      throw new HttpError(501, 'NOT_IMPLEMENTED', 'The lean reference assigns only incidents past analysis (no status change)');
    }
    const review = (
      await client.query(SQL.insertReview, [
        incident.id,
        engineer.id,
        input.priority,
        SLA_SECONDS[input.priority],
        'manual',
        actor.sub,
        null,
        null,
        null,
      ])
    ).rows[0];
    await client.query(SQL.recordAssignment, [engineer.id]);
    await client.query(SQL.setOpenReview, [review.id, incident.id]);
    const view = reviewView(review);
    await recordChange(client, actor, 'review.assigned', null, view);
    return view;
  });
}

async function cancel(actor, reviewId, body) {
  if (!UUID.test(reviewId))
    throw new HttpError(400, 'VALIDATION_FAILED', 'Request validation failed', [{ field: 'id', message: 'must be a UUID' }]);
  const input = validate(body, { reason });
  const existing = (await pool.query(SQL.findReview, [reviewId])).rows[0];
  if (!existing) throw new HttpError(404, 'NOT_FOUND', `Review ${reviewId} not found`);
  return transaction(async (client) => {
    await client.query(SQL.lockIncident, [existing.incidentId]);
    const review = (await client.query(SQL.lockReview, [reviewId])).rows[0];
    if (review.status !== 'assigned' && review.status !== 'in_progress')
      throw new HttpError(409, 'INVALID_TRANSITION', `Review ${review.id} is ${review.status}`);
    const cancelled = (await client.query(SQL.cancelReview, [input.reason, review.id])).rows[0];
    await client.query(SQL.discardVotes, [review.id]);
    await client.query(SQL.releaseAssignment, [review.engineerId]);
    await client.query(SQL.setOpenReview, [null, review.incidentId]);
    const view = reviewView(cancelled);
    await recordChange(client, actor, 'review.cancelled', reviewView(review), view);
    return view;
  });
}

function send(response, status, body, requestId) {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': status >= 400 ? 'application/problem+json' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'x-request-id': requestId,
  });
  response.end(payload);
}

const CANCEL_PATH = /^\/api\/v1\/reviews\/([^/]+)\/cancel$/;

async function handle(request, response) {
  const requestId = randomUUID();
  const path = request.url.split('?')[0];
  try {
    if (request.method === 'GET' && (path === '/health/ready' || path === '/health/live')) {
      if (path === '/health/ready') await pool.query('SELECT 1');
      return send(response, 200, { status: 'ok' }, requestId);
    }
    const cancelMatch = request.method === 'POST' ? CANCEL_PATH.exec(path) : null;
    if (request.method !== 'POST' || (path !== '/api/v1/reviews' && !cancelMatch))
      throw new HttpError(404, 'NOT_FOUND', `No route ${request.method} ${path}`);
    const caller = await authenticate(request);
    const actor = { ...caller, requestId };
    const body = await readJson(request);
    if (cancelMatch) return send(response, 200, await cancel(actor, cancelMatch[1], body), requestId);
    return send(response, 201, await assign(actor, body), requestId);
  } catch (error) {
    const known = error instanceof HttpError;
    if (!known) console.error(error);
    const status = known ? error.status : 500;
    const problem = {
      type: 'about:blank',
      title: http.STATUS_CODES[status],
      status,
      code: known ? error.code : 'INTERNAL_ERROR',
      detail: known ? error.message : 'Unexpected error',
      instance: path,
      requestId,
      ...(known && error.errors ? { errors: error.errors } : {}),
    };
    if (!response.headersSent) send(response, status, problem, requestId);
  }
}

const server = http.createServer((request, response) => void handle(request, response));
server.keepAliveTimeout = 5_000;
server.listen(int('PORT', 3000), env.HOST ?? '127.0.0.1');
const stop = () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
