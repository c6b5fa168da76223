-- One assign → cancel cycle, statement for statement as the service runs it: POST /api/v1/reviews
-- (AssignmentService.assign) and POST /api/v1/reviews/{id}/cancel (ReviewCancellationService.cancel).
-- Each request is one transaction of four statements: BEGIN; the locks in one statement (runSteps in
-- libs/database: incident then engineer, or the review's incident through a subquery then the review,
-- with the transaction's clock, now()::timestamptz(3)); everything else in a second (review, counter,
-- incident, and votes for cancel, the audit entry under the seal gate, the event log under its gate
-- and, with webhooks, the outbox copy), with the select and RETURNING lists of the column sets; COMMIT.
-- Client c works on incident bench-<tag>-<c+1> as engineer bench-engineer-<c+1>, like HTTP client c.
-- Variables (-D): tag (incident pool), webhooks (1: write the outbox like the service with WEBHOOK_URL).
-- Differences, all small: the service makes the review's id (randomUUID) and its deadline and predicts
-- in JavaScript the API views that the audit before/after and the event payloads carry, from the
-- locked rows and the transaction's clock, all sent as parameters; here the id is gen_random_uuid(),
-- the deadline now() + 1 day, and the payloads are to_jsonb of rows the statement itself reads, since
-- nothing here can use the RETURNING of the statement it is in: the written review from its
-- data-modifying step ((SELECT to_jsonb("review") FROM "review"), whose RETURNING list is the
-- column set's), the cancelled review's before from the table (the statement's snapshot: the row
-- before the update), and the audit and event rows of the assign name the review through that step
-- too. The writes' combined rows return a few of the written fields (as pgbench variables) instead
-- of all, and pgbench's outbox rows are written as already delivered, so that the service
-- never delivers them (delivery is the service's own cost).
-- pgbench replaces :name even inside string literals, so no literal here has a colon before a letter.
\set n :client_id + 1

-- POST /api/v1/reviews: one transaction
BEGIN;
WITH "incident" AS MATERIALIZED (
  SELECT i.id::text AS "id", i.title AS "title", i.description AS "description", i.severity::text AS "severity", i.ai_proposal AS "aiProposal",
    i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS "status",
    i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"
  FROM incidents i WHERE i.id = bench_uuid('bench-' || :tag::text || '-' || :n::text)::uuid FOR UPDATE),
"engineer" AS MATERIALIZED (
  SELECT e.id::text AS "id", e.name AS "name", e.email AS "email", e.expertise AS "expertise", e.status::text AS "status", e.is_available AS "isAvailable",
    e.max_concurrent_reviews AS "maxConcurrentReviews", e.current_review_count AS "currentReviewCount",
    e.last_assigned_at AS "lastAssignedAt", e.deleted_at AS "deletedAt", e.created_at AS "createdAt", e.updated_at AS "updatedAt"
  FROM engineers e WHERE e.id = bench_uuid('bench-engineer-' || :n::text)::uuid AND EXISTS (SELECT FROM incident) FOR UPDATE)
SELECT "incident"."id" AS "incident.id", "incident"."title" AS "incident.title", "incident"."description" AS "incident.description",
  "incident"."severity" AS "incident.severity", "incident"."aiProposal" AS "incident.aiProposal", "incident"."requiredExpertise" AS "incident.requiredExpertise",
  "incident"."externalRef" AS "incident.externalRef", "incident"."status" AS "incident.status", "incident"."chosenApproach" AS "incident.chosenApproach",
  "incident"."openReviewId" AS "incident.openReviewId", "incident"."createdAt" AS "incident.createdAt", "incident"."updatedAt" AS "incident.updatedAt",
  "engineer"."id" AS "engineer.id", "engineer"."name" AS "engineer.name", "engineer"."email" AS "engineer.email", "engineer"."expertise" AS "engineer.expertise",
  "engineer"."status" AS "engineer.status", "engineer"."isAvailable" AS "engineer.isAvailable", "engineer"."maxConcurrentReviews" AS "engineer.maxConcurrentReviews",
  "engineer"."currentReviewCount" AS "engineer.currentReviewCount", "engineer"."lastAssignedAt" AS "engineer.lastAssignedAt",
  "engineer"."deletedAt" AS "engineer.deletedAt", "engineer"."createdAt" AS "engineer.createdAt", "engineer"."updatedAt" AS "engineer.updatedAt",
  now()::timestamptz(3) AS "transaction.now"
FROM (SELECT) AS statement LEFT JOIN "incident" ON true LEFT JOIN "engineer" ON true;
WITH "review" AS MATERIALIZED (
  INSERT INTO reviews AS r (id, incident_id, engineer_id, status, priority, assigned_at, expected_completion_at,
    assignment_strategy, assigned_by, assignment_candidates, assignment_load_ratio, reassigned_from_id)
  VALUES (gen_random_uuid(), bench_uuid('bench-' || :tag::text || '-' || :n::text)::uuid, bench_uuid('bench-engineer-' || :n::text)::uuid, 'assigned',
    'normal'::review_priority, now(), now() + make_interval(secs => 86400), 'manual'::assignment_strategy, 'pgbench', NULL, NULL, NULL::uuid)
  RETURNING r.id::text AS "id", r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS "status",
    r.priority::text AS "priority", r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt",
    r.expected_completion_at AS "expectedCompletionAt", (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS "overdue",
    r.escalation_level::int AS "escalationLevel", r.last_escalated_at AS "lastEscalatedAt", r.approach AS "approach", r.analysis AS "analysis",
    r.confidence AS "confidence", r.decision::text AS "decision", r.decision_made_at AS "decisionMadeAt", r.decision_rationale AS "decisionRationale",
    r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
    r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
    r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
    r.created_at AS "createdAt", r.updated_at AS "updatedAt"),
"counter" AS MATERIALIZED (
  UPDATE engineers AS e SET current_review_count = current_review_count + 1, last_assigned_at = now(), updated_at = now()
  WHERE e.id = bench_uuid('bench-engineer-' || :n::text)::uuid RETURNING e.id),
"incident" AS MATERIALIZED (
  UPDATE incidents AS i SET open_review_id = (SELECT id::uuid FROM review), updated_at = now()
  WHERE i.id = bench_uuid('bench-' || :tag::text || '-' || :n::text)::uuid
  RETURNING i.id::text AS "id", i.title AS "title", i.description AS "description", i.severity::text AS "severity", i.ai_proposal AS "aiProposal",
    i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS "status",
    i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"),
"audit" AS MATERIALIZED (
  INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
  SELECT v.* FROM (SELECT pg_advisory_xact_lock_shared(24225::bigint)) AS seal_gate,
    (VALUES ('pgbench', ARRAY['admin']::text[], 'review.assigned'::audit_action, 'review'::audit_entity_type, (SELECT id::uuid FROM review),
      NULL::jsonb, (SELECT to_jsonb(review) FROM review), 'pgbench'))
    AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)),
"events_0" AS MATERIALIZED (
  INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
  SELECT v.id, v.type, (SELECT id::uuid FROM review), bench_uuid('bench-' || :tag::text || '-' || :n::text)::uuid, bench_uuid('bench-engineer-' || :n::text)::uuid,
    GREATEST(clock_timestamp(), previous.at + interval '1 millisecond') + v.ord * interval '1 millisecond', v.payload
  FROM (SELECT pg_advisory_xact_lock_shared(59361::bigint)) AS gate,
    (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = (SELECT id::uuid FROM review)) AS previous,
    (VALUES (0::int, gen_random_uuid(), 'review.assigned'::text, (SELECT to_jsonb(review) FROM review))) AS v(ord, id, type, payload)
  ORDER BY v.ord
  RETURNING id, type, review_id, occurred_at, payload),
"outbox_0" AS MATERIALIZED (
  INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, traceparent, delivered_at)
  SELECT id, type, review_id, occurred_at, payload, NULL::text, clock_timestamp() FROM "events_0" WHERE :webhooks = 1)
SELECT "review"."id" AS r_id, "review"."status" AS r_status, "review"."assignedAt" AS r_assigned_at,
  "review"."expectedCompletionAt" AS r_expected_completion_at, "review"."updatedAt" AS r_updated_at,
  (SELECT count(*) FROM "counter")::int AS r_counter_count, "incident"."id" AS i_id, "incident"."openReviewId" AS i_open_review_id,
  "incident"."updatedAt" AS i_updated_at, now()::timestamptz(3) AS transaction_now
FROM (SELECT) AS statement LEFT JOIN "review" ON true LEFT JOIN "incident" ON true
\gset
COMMIT;

-- POST /api/v1/reviews/{id}/cancel: one transaction
BEGIN;
WITH "incident" AS MATERIALIZED (
  SELECT i.id::text AS "id", i.title AS "title", i.description AS "description", i.severity::text AS "severity", i.ai_proposal AS "aiProposal",
    i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS "status",
    i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"
  FROM incidents i WHERE i.id = (SELECT incident_id FROM reviews WHERE id = :r_id::uuid) FOR UPDATE),
"review" AS MATERIALIZED (
  SELECT r.id::text AS "id", r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS "status",
    r.priority::text AS "priority", r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt",
    r.expected_completion_at AS "expectedCompletionAt", (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS "overdue",
    r.escalation_level::int AS "escalationLevel", r.last_escalated_at AS "lastEscalatedAt", r.approach AS "approach", r.analysis AS "analysis",
    r.confidence AS "confidence", r.decision::text AS "decision", r.decision_made_at AS "decisionMadeAt", r.decision_rationale AS "decisionRationale",
    r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
    r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
    r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
    r.created_at AS "createdAt", r.updated_at AS "updatedAt"
  FROM reviews r WHERE r.id = :r_id::uuid AND EXISTS (SELECT FROM incident) FOR UPDATE)
SELECT "incident"."id" AS "incident.id", "incident"."title" AS "incident.title", "incident"."description" AS "incident.description",
  "incident"."severity" AS "incident.severity", "incident"."aiProposal" AS "incident.aiProposal", "incident"."requiredExpertise" AS "incident.requiredExpertise",
  "incident"."externalRef" AS "incident.externalRef", "incident"."status" AS "incident.status", "incident"."chosenApproach" AS "incident.chosenApproach",
  "incident"."openReviewId" AS "incident.openReviewId", "incident"."createdAt" AS "incident.createdAt", "incident"."updatedAt" AS "incident.updatedAt",
  "review"."id" AS "review.id", "review"."incidentId" AS "review.incidentId", "review"."engineerId" AS "review.engineerId",
  "review"."status" AS "review.status", "review"."priority" AS "review.priority", "review"."assignedAt" AS "review.assignedAt",
  "review"."startedAt" AS "review.startedAt", "review"."submittedAt" AS "review.submittedAt", "review"."expectedCompletionAt" AS "review.expectedCompletionAt",
  "review"."overdue" AS "review.overdue", "review"."escalationLevel" AS "review.escalationLevel", "review"."lastEscalatedAt" AS "review.lastEscalatedAt",
  "review"."approach" AS "review.approach", "review"."analysis" AS "review.analysis", "review"."confidence" AS "review.confidence",
  "review"."decision" AS "review.decision", "review"."decisionMadeAt" AS "review.decisionMadeAt", "review"."decisionRationale" AS "review.decisionRationale",
  "review"."decidedBy" AS "review.decidedBy", "review"."cancelledAt" AS "review.cancelledAt", "review"."cancellationReason" AS "review.cancellationReason",
  "review"."reassignedFromId" AS "review.reassignedFromId", "review"."decisionOverdueAt" AS "review.decisionOverdueAt",
  "review"."assignmentStrategy" AS "review.assignmentStrategy", "review"."assignedBy" AS "review.assignedBy",
  "review"."assignmentCandidates" AS "review.assignmentCandidates", "review"."assignmentLoadRatio" AS "review.assignmentLoadRatio",
  "review"."createdAt" AS "review.createdAt", "review"."updatedAt" AS "review.updatedAt",
  now()::timestamptz(3) AS "transaction.now"
FROM (SELECT) AS statement LEFT JOIN "incident" ON true LEFT JOIN "review" ON true;
WITH "review" AS MATERIALIZED (
  UPDATE reviews AS r SET status = 'cancelled', cancelled_at = now(), cancellation_reason = 'bench: assign-cancel cycle', updated_at = now()
  WHERE r.id = :r_id::uuid
  RETURNING r.id::text AS "id", r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS "status",
    r.priority::text AS "priority", r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt",
    r.expected_completion_at AS "expectedCompletionAt", (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS "overdue",
    r.escalation_level::int AS "escalationLevel", r.last_escalated_at AS "lastEscalatedAt", r.approach AS "approach", r.analysis AS "analysis",
    r.confidence AS "confidence", r.decision::text AS "decision", r.decision_made_at AS "decisionMadeAt", r.decision_rationale AS "decisionRationale",
    r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
    r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
    r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
    r.created_at AS "createdAt", r.updated_at AS "updatedAt"),
"votes" AS MATERIALIZED (DELETE FROM review_votes WHERE review_id = :r_id::uuid),
"counter" AS MATERIALIZED (
  UPDATE engineers AS e SET current_review_count = current_review_count - 1, updated_at = now()
  WHERE e.id = bench_uuid('bench-engineer-' || :n::text)::uuid RETURNING e.id),
"incident" AS MATERIALIZED (
  UPDATE incidents AS i SET open_review_id = NULL, updated_at = now() WHERE i.id = bench_uuid('bench-' || :tag::text || '-' || :n::text)::uuid
  RETURNING i.id::text AS "id", i.title AS "title", i.description AS "description", i.severity::text AS "severity", i.ai_proposal AS "aiProposal",
    i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS "status",
    i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"),
"audit" AS MATERIALIZED (
  INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
  SELECT v.* FROM (SELECT pg_advisory_xact_lock_shared(24225::bigint)) AS seal_gate,
    (VALUES ('pgbench', ARRAY['admin']::text[], 'review.cancelled'::audit_action, 'review'::audit_entity_type, :r_id::uuid,
      (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), (SELECT to_jsonb(review) FROM review), 'pgbench'))
    AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)),
"events_0" AS MATERIALIZED (
  INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
  SELECT v.id, v.type, :r_id::uuid, bench_uuid('bench-' || :tag::text || '-' || :n::text)::uuid, bench_uuid('bench-engineer-' || :n::text)::uuid,
    GREATEST(clock_timestamp(), previous.at + interval '1 millisecond') + v.ord * interval '1 millisecond', v.payload
  FROM (SELECT pg_advisory_xact_lock_shared(59361::bigint)) AS gate,
    (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = :r_id::uuid) AS previous,
    (VALUES (0::int, gen_random_uuid(), 'review.cancelled'::text, (SELECT to_jsonb(review) FROM review))) AS v(ord, id, type, payload)
  ORDER BY v.ord
  RETURNING id, type, review_id, occurred_at, payload),
"outbox_0" AS MATERIALIZED (
  INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, traceparent, delivered_at)
  SELECT id, type, review_id, occurred_at, payload, NULL::text, clock_timestamp() FROM "events_0" WHERE :webhooks = 1)
SELECT "review"."id" AS "review.id", "review"."status" AS "review.status", "review"."cancelledAt" AS "review.cancelledAt",
  "review"."updatedAt" AS "review.updatedAt", (SELECT count(*) FROM "counter")::int AS "counter.count",
  (SELECT count(*) FROM "incident")::int AS "incident.count", now()::timestamptz(3) AS "transaction.now"
FROM (SELECT) AS statement LEFT JOIN "review" ON true;
COMMIT;
