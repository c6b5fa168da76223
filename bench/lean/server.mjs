#!/usr/bin/env node
// The lean reference of the benchmark (bench/README.md, "Reference rows"): the two endpoints of the
// assign → cancel cycle, POST /api/v1/reviews (manual assign) and POST /api/v1/reviews/{id}/cancel,
// on plain node:http and a pg Pool, without a framework. It sends the service's statements for these
// use cases, each as a named prepared statement, 4 per request: BEGIN; the locks in one combined
// statement (incident then engineer, or the review's incident then the review) that also reads the
// transaction's clock; after the same checks in JavaScript, everything else in a second (review,
// counter, incident, votes, the audit entry under the seal gate, the event log under its gate and,
// when WEBHOOK_URL is set, the outbox copy), whose audit and event payloads are the review views
// predicted from the locked rows, the transaction's clock and a review id made here, and whose
// returned rows must be those predicted; COMMIT. The repositories' SELECT and RETURNING lists are
// copied. It checks the token as the service does (HS256 with JWT_SECRET, iss/aud when configured,
// exp, the lifetime cap, sub and roles) and the bodies by the DTOs' rules, and answers the happy path
// with the same status and JSON. What it leaves out is what the framework and its layers add: the
// difference in CPU per request between the service and this process is the framework's tax.
//
// Scope: incidents that are not detected/analyzing (the bench's assign → cancel incidents are
// pending_approval, so the service does not change their status), no Idempotency-Key, no rate limit.
// Environment: DATABASE_URL, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL_SECONDS (86400),
// DATABASE_POOL_MAX (10), LOCK_TIMEOUT_MS (5000), SLA_NORMAL_SECONDS… (the service's defaults),
// WEBHOOK_URL (only whether it is set matters: the service's own replicas queue and deliver the events), HOST, PORT.
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
// The service's lock keys (libs/audit, libs/webhooks).
const AUDIT_SEAL_LOCK_KEY = 24225;
const EVENT_GATE_LOCK_KEY = 59361;
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
// The fields of each list above, in order: the combined row carries them as "<step>.<field>".
const words = (text) => text.split(/\s+/);
const REVIEW_FIELDS = words(`id incidentId engineerId status priority assignedAt startedAt submittedAt expectedCompletionAt overdue
  escalationLevel lastEscalatedAt approach analysis confidence decision decisionMadeAt decisionRationale decidedBy cancelledAt
  cancellationReason reassignedFromId decisionOverdueAt assignmentStrategy assignedBy assignmentCandidates assignmentLoadRatio createdAt updatedAt`);
const ENGINEER_FIELDS = words(
  `id name email expertise status isAvailable maxConcurrentReviews currentReviewCount lastAssignedAt deletedAt createdAt updatedAt`,
);
const INCIDENT_FIELDS = words(
  `id title description severity aiProposal requiredExpertise externalRef status chosenApproach openReviewId createdAt updatedAt`,
);

/**
 * The service's combined statement (runSteps in libs/database): each step `"name" AS MATERIALIZED (sql)`
 * in one WITH list, and one row of what the steps read (their fields as "<name>.<field>", outer-joined,
 * or their row count as "<name>.count") with the transaction's clock.
 */
function combined(steps) {
  const columns = [];
  const joins = [];
  for (const { name, read } of steps) {
    if (read === 'count') columns.push(`(SELECT count(*) FROM "${name}")::int AS "${name}.count"`);
    else if (read !== 'nothing') {
      columns.push(read.map((field) => `"${name}"."${field}" AS "${name}.${field}"`).join(', '));
      joins.push(`LEFT JOIN "${name}" ON true`);
    }
  }
  columns.push(`now()::timestamptz(3) AS "transaction.now"`);
  const withList = steps.map(({ name, sql }) => `"${name}" AS MATERIALIZED (${sql})`).join(', ');
  return `WITH ${withList} SELECT ${columns.join(', ')} FROM (SELECT) AS statement ${joins.join(' ')}`;
}

/** A step's row out of the combined row, undefined when the step had none (every field NULL). */
function pick(row, name, fields) {
  const picked = {};
  let found = false;
  for (const field of fields) {
    const value = row[`${name}.${field}`];
    picked[field] = value;
    if (value !== null && value !== undefined) found = true;
  }
  return found ? picked : undefined;
}

/** The audit insert under the seal gate (AuditRepository.appendStep), one entry: parameters $first…$first+7. */
const auditStep = (first) => {
  const [sub, roles, action, entityType, entityId, before, after, requestId] = Array.from({ length: 8 }, (_, index) => `$${first + index}`);
  return `INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
    SELECT v.* FROM (SELECT pg_advisory_xact_lock_shared(${AUDIT_SEAL_LOCK_KEY}::bigint)) AS seal_gate,
      (VALUES (${sub}, ${roles}::text[], ${action}::audit_action, ${entityType}::audit_entity_type,
        ${entityId}::uuid, ${before}::jsonb, ${after}::jsonb, ${requestId})) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)`;
};

/**
 * The event log insert under its gate (EventLogRepository.appendSteps), one event, and with webhooks
 * its copy into the outbox (OutboxRepository.copyOf; the service's replicas queue its delivery job
 * after the commit). Parameters: review, incident, engineer, then $first…$first+2 (id, type, payload)
 * and, with webhooks, $first+3 (traceparent).
 */
const eventSteps = (review, incident, engineer, first) => {
  const steps = [
    {
      name: 'events_0',
      sql: `INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
        SELECT v.id, v.type, ${review}::uuid, ${incident}::uuid, ${engineer}::uuid,
               GREATEST(clock_timestamp(), previous.at + interval '1 millisecond') + v.ord * interval '1 millisecond', v.payload
        FROM (SELECT pg_advisory_xact_lock_shared(${EVENT_GATE_LOCK_KEY}::bigint)) AS gate,
             (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = ${review}::uuid) AS previous,
             (VALUES (0::int, $${first}::uuid, $${first + 1}::text, $${first + 2}::jsonb)) AS v(ord, id, type, payload)
        ORDER BY v.ord
        RETURNING id, type, review_id, occurred_at, payload`,
      read: 'nothing',
    },
  ];
  if (webhooks)
    steps.push({
      name: 'outbox_0',
      sql: `INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, traceparent)
        SELECT id, type, review_id, occurred_at, payload, $${first + 3}::text FROM "events_0"`,
      read: 'nothing',
    });
  return steps;
};

// Each text is sent as a named prepared statement, like the service's (preparedStatementNames in
// libs/database): PostgreSQL parses and plans it once per connection.
let statements = 0;
const named = (text) => ({ name: `lean_${(statements += 1)}`, text });

const SQL = {
  begin: named('BEGIN'),
  commit: named('COMMIT'),
  // ReviewLocks.incidentAndEngineer: the engineer's lock waits for the incident's.
  assignLocks: named(
    combined([
      { name: 'incident', sql: `SELECT ${INCIDENT} FROM incidents i WHERE i.id = $1::uuid FOR UPDATE`, read: INCIDENT_FIELDS },
      {
        name: 'engineer',
        sql: `SELECT ${ENGINEER} FROM engineers e WHERE e.id = $2::uuid AND EXISTS (SELECT FROM incident) FOR UPDATE`,
        read: ENGINEER_FIELDS,
      },
    ]),
  ),
  // ReviewOpening.open: $1 review id, $2 incident, $3 engineer, $4 priority, $5 deadline, $6 strategy, $7 assigned by,
  // $8 candidates, $9 load ratio, $10 reassigned from, $11… the audit entry, $19… the event.
  assignWrites: named(
    combined([
      {
        name: 'review',
        sql: `INSERT INTO reviews AS r (id, incident_id, engineer_id, status, priority, assigned_at, expected_completion_at,
            assignment_strategy, assigned_by, assignment_candidates, assignment_load_ratio, reassigned_from_id)
          VALUES ($1::uuid, $2::uuid, $3::uuid, 'assigned', $4::review_priority,
            now(), $5::timestamptz, $6::assignment_strategy, $7, $8, $9, $10::uuid)
          RETURNING ${REVIEW}`,
        read: REVIEW_FIELDS,
      },
      {
        name: 'counter',
        sql: `UPDATE engineers AS e SET current_review_count = current_review_count + 1, last_assigned_at = now(), updated_at = now()
          WHERE e.id = $3::uuid RETURNING e.id`,
        read: 'count',
      },
      {
        name: 'incident',
        sql: `UPDATE incidents AS i SET open_review_id = (SELECT id::uuid FROM review), updated_at = now() WHERE i.id = $2::uuid
          RETURNING ${INCIDENT}`,
        read: INCIDENT_FIELDS,
      },
      { name: 'audit', sql: auditStep(11), read: 'nothing' },
      ...eventSteps('$1', '$2', '$3', 19),
    ]),
  ),
  // ReviewLocks.reviewWithIncident: the review's incident through a subquery, then the review.
  cancelLocks: named(
    combined([
      {
        name: 'incident',
        sql: `SELECT ${INCIDENT} FROM incidents i WHERE i.id = (SELECT incident_id FROM reviews WHERE id = $1::uuid) FOR UPDATE`,
        read: INCIDENT_FIELDS,
      },
      {
        name: 'review',
        sql: `SELECT ${REVIEW} FROM reviews r WHERE r.id = $1::uuid AND EXISTS (SELECT FROM incident) FOR UPDATE`,
        read: REVIEW_FIELDS,
      },
    ]),
  ),
  // ReviewCancellationService.cancel: $1 review, $2 reason, $3 engineer, $4 incident, $5… the audit entry, $13… the event.
  cancelWrites: named(
    combined([
      {
        name: 'review',
        sql: `UPDATE reviews AS r SET status = 'cancelled', cancelled_at = now(), cancellation_reason = $2, updated_at = now()
          WHERE r.id = $1::uuid RETURNING ${REVIEW}`,
        read: REVIEW_FIELDS,
      },
      { name: 'votes', sql: `DELETE FROM review_votes WHERE review_id = $1::uuid`, read: 'nothing' },
      {
        name: 'counter',
        sql: `UPDATE engineers AS e SET current_review_count = current_review_count - 1, updated_at = now() WHERE e.id = $3::uuid RETURNING e.id`,
        read: 'count',
      },
      {
        name: 'incident',
        sql: `UPDATE incidents AS i SET open_review_id = NULL, updated_at = now() WHERE i.id = $4::uuid RETURNING ${INCIDENT}`,
        read: 'count',
      },
      { name: 'audit', sql: auditStep(5), read: 'nothing' },
      ...eventSteps('$1', '$4', '$3', 13),
    ]),
  ),
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
      await client.query(SQL.begin);
      const result = await work(client);
      await client.query(SQL.commit);
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

/**
 * The service's check after a combined write (expectWrittenAsPredicted): the audit entry and the
 * event were written from the predicted row, so the row the statement wrote must be exactly that one,
 * or the transaction rolls back (500).
 */
function expectWrittenAsPredicted(entity, written, predicted) {
  if (written === null || JSON.stringify(written) !== JSON.stringify(predicted))
    throw new Error(`The ${entity} written is not the ${entity} predicted for its audit entry: ${JSON.stringify({ written, predicted })}`);
}

const incidentView = (row) => ({ ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() });

async function assign(actor, body) {
  const input = validate(body, { incidentId: uuid, engineerId: uuid, priority: optionalPriority });
  return transaction(async (client) => {
    const locked = (await client.query({ ...SQL.assignLocks, values: [input.incidentId, input.engineerId] })).rows[0];
    const incident = pick(locked, 'incident', INCIDENT_FIELDS);
    if (!incident) throw new HttpError(404, 'NOT_FOUND', `Incident ${input.incidentId} not found`);
    const engineer = pick(locked, 'engineer', ENGINEER_FIELDS);
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
    // The review as the statement will insert it (ReviewOpening.open, openedReview), from the transaction's clock.
    const now = locked['transaction.now'];
    const expectedCompletionAt = new Date(now.getTime() + SLA_SECONDS[input.priority] * 1_000);
    const view = reviewView({
      id: randomUUID(),
      incidentId: incident.id,
      engineerId: engineer.id,
      status: 'assigned',
      priority: input.priority,
      assignedAt: now,
      startedAt: null,
      submittedAt: null,
      expectedCompletionAt,
      overdue: expectedCompletionAt < now,
      escalationLevel: 0,
      lastEscalatedAt: null,
      approach: null,
      analysis: null,
      confidence: null,
      decision: 'pending',
      decisionMadeAt: null,
      decisionRationale: null,
      decidedBy: null,
      cancelledAt: null,
      cancellationReason: null,
      reassignedFromId: null,
      decisionOverdueAt: null,
      assignmentStrategy: 'manual',
      assignedBy: actor.sub,
      assignmentCandidates: null,
      assignmentLoadRatio: null,
      createdAt: now,
      updatedAt: now,
    });
    const incidentAfter = incidentView({ ...incident, openReviewId: view.id, updatedAt: now });
    const payload = JSON.stringify(view);
    const values = [view.id, incident.id, engineer.id, input.priority, view.expectedCompletionAt, 'manual', actor.sub, null, null, null];
    values.push(actor.sub, actor.roles, 'review.assigned', 'review', view.id, null, payload, actor.requestId);
    values.push(randomUUID(), 'review.assigned', payload);
    if (webhooks) values.push(null);
    const written = (await client.query({ ...SQL.assignWrites, values })).rows[0];
    if (written['counter.count'] !== 1) throw new Error(`Engineer ${engineer.id} does not exist under its own lock`);
    const review = pick(written, 'review', REVIEW_FIELDS);
    expectWrittenAsPredicted('review', review ? reviewView(review) : null, view);
    const incidentWritten = pick(written, 'incident', INCIDENT_FIELDS);
    expectWrittenAsPredicted('incident', incidentWritten ? incidentView(incidentWritten) : null, incidentAfter);
    return view;
  });
}

async function cancel(actor, reviewId, body) {
  if (!UUID.test(reviewId))
    throw new HttpError(400, 'VALIDATION_FAILED', 'Request validation failed', [{ field: 'id', message: 'must be a UUID' }]);
  const input = validate(body, { reason });
  return transaction(async (client) => {
    const locked = (await client.query({ ...SQL.cancelLocks, values: [reviewId] })).rows[0];
    const review = pick(locked, 'review', REVIEW_FIELDS);
    if (!review || !pick(locked, 'incident', INCIDENT_FIELDS)) throw new HttpError(404, 'NOT_FOUND', `Review ${reviewId} not found`);
    if (review.status !== 'assigned' && review.status !== 'in_progress')
      throw new HttpError(409, 'INVALID_TRANSITION', `Review ${review.id} is ${review.status}`);
    // The review as the statement will write it, from the locked row and the transaction's clock.
    const now = locked['transaction.now'];
    const before = reviewView(review);
    const view = reviewView({
      ...review,
      status: 'cancelled',
      overdue: false,
      cancelledAt: now,
      cancellationReason: input.reason,
      updatedAt: now,
    });
    const payload = JSON.stringify(view);
    const values = [review.id, input.reason, review.engineerId, review.incidentId];
    values.push(actor.sub, actor.roles, 'review.cancelled', 'review', review.id, JSON.stringify(before), payload, actor.requestId);
    values.push(randomUUID(), 'review.cancelled', payload);
    if (webhooks) values.push(null);
    const written = (await client.query({ ...SQL.cancelWrites, values })).rows[0];
    if (written['counter.count'] !== 1) throw new Error(`Engineer ${review.engineerId} of review ${review.id} does not exist`);
    if (written['incident.count'] !== 1) throw new Error(`Incident ${review.incidentId} of review ${review.id} does not exist`);
    const cancelled = pick(written, 'review', REVIEW_FIELDS);
    expectWrittenAsPredicted('review', cancelled ? reviewView(cancelled) : null, view);
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
