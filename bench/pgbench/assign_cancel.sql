-- One assign → cancel cycle, statement for statement as the service runs it: POST /api/v1/reviews
-- (AssignmentService.assign) and POST /api/v1/reviews/{id}/cancel (ReviewCancellationService.cancel), with
-- the SELECT lists and RETURNING lists of the repositories (their column sets, libs/*/src/*.view.ts).
-- Client c works on incident bench-<tag>-<c+1> as engineer bench-engineer-<c+1>, like HTTP client c.
-- Variables (-D): tag (incident pool), webhooks (1: write the outbox like the service with WEBHOOK_URL).
-- The event log (review_events, behind its gate) is written whatever the variable says, as the service does.
-- Differences, both small: audit before/after are to_jsonb(row) instead of the API view built in
-- JavaScript, and pgbench's outbox rows are written as already delivered, with a job of a task no
-- worker runs, so that the service never delivers them (delivery is the service's own cost).
-- pgbench replaces :name even inside string literals, so no literal here has a colon before a letter.
\set n :client_id + 1

-- POST /api/v1/reviews: one transaction
BEGIN;
SELECT i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"
FROM incidents i WHERE i.id = bench_uuid('bench-' || :tag::text || '-' || :n::text) FOR UPDATE;
SELECT e.id::text AS id, e.name, e.email, e.expertise, e.status::text AS status, e.is_available AS "isAvailable",
  e.max_concurrent_reviews AS "maxConcurrentReviews", e.current_review_count AS "currentReviewCount",
  e.last_assigned_at AS "lastAssignedAt", e.deleted_at AS "deletedAt", e.created_at AS "createdAt", e.updated_at AS "updatedAt"
FROM engineers e WHERE e.id = bench_uuid('bench-engineer-' || :n::text) FOR UPDATE;
INSERT INTO reviews AS r (id, incident_id, engineer_id, status, priority, assigned_at, expected_completion_at,
  assignment_strategy, assigned_by, assignment_candidates, assignment_load_ratio, reassigned_from_id)
VALUES (gen_random_uuid(), bench_uuid('bench-' || :tag::text || '-' || :n::text), bench_uuid('bench-engineer-' || :n::text), 'assigned', 'normal'::review_priority,
  now(), now() + make_interval(secs => 86400), 'manual'::assignment_strategy, 'pgbench', NULL, NULL, NULL::uuid)
RETURNING r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId",
  r.status::text AS status, r.priority::text AS priority, r.assigned_at AS "assignedAt", r.started_at AS "startedAt",
  r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue,
  r.escalation_level::int AS "escalationLevel", r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence,
  r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt", r.decision_rationale AS "decisionRationale",
  r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt",
  r.assignment_strategy::text AS "assignmentStrategy", r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates",
  r.assignment_load_ratio AS "assignmentLoadRatio", r.created_at AS "createdAt", r.updated_at AS "updatedAt"
\gset r_
UPDATE engineers AS e SET current_review_count = current_review_count + 1, last_assigned_at = now(), updated_at = now()
WHERE e.id = bench_uuid('bench-engineer-' || :n::text)
RETURNING e.id::text AS id, e.name, e.email, e.expertise, e.status::text AS status, e.is_available AS "isAvailable",
  e.max_concurrent_reviews AS "maxConcurrentReviews", e.current_review_count AS "currentReviewCount",
  e.last_assigned_at AS "lastAssignedAt", e.deleted_at AS "deletedAt", e.created_at AS "createdAt", e.updated_at AS "updatedAt";
UPDATE incidents AS i SET open_review_id = :r_id::uuid, updated_at = now() WHERE i.id = bench_uuid('bench-' || :tag::text || '-' || :n::text)
RETURNING i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt";
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['admin']::text[], 'review.assigned'::audit_action, 'review'::audit_entity_type, :r_id::uuid,
  NULL::jsonb, (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), 'pgbench')) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
WITH gate AS (SELECT pg_advisory_xact_lock_shared(59361::bigint)),
previous AS (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = :r_id::uuid)
INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
SELECT gen_random_uuid(), 'review.assigned', r.id, r.incident_id, r.engineer_id, GREATEST(clock_timestamp(), previous.at + interval '1 millisecond'), to_jsonb(r)
FROM gate, previous, reviews r WHERE r.id = :r_id::uuid;
\if :webhooks
INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, delivered_at)
SELECT gen_random_uuid(), 'review.assigned', :r_id::uuid,
  GREATEST(clock_timestamp(), (SELECT max(occurred_at) + interval '1 millisecond' FROM webhook_events WHERE review_id = :r_id::uuid)),
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), clock_timestamp()
RETURNING id::text AS id;
SELECT graphile_worker.add_job('bench.pgbench-undelivered', json_build_object('reviewId', :r_id::text),
  queue_name => 'bench-pgbench-' || right(:r_id::text, 1), job_key => 'bench-pgbench-review-' || :r_id::text, job_key_mode => 'preserve_run_at');
\endif
COMMIT;

-- POST /api/v1/reviews/{id}/cancel: the review is read first (outside the transaction), then one transaction
SELECT r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt"
FROM reviews r WHERE r.id = :r_id::uuid;
BEGIN;
SELECT i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"
FROM incidents i WHERE i.id = bench_uuid('bench-' || :tag::text || '-' || :n::text) FOR UPDATE;
SELECT r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt"
FROM reviews r WHERE r.id = :r_id::uuid FOR UPDATE;
UPDATE reviews AS r SET status = 'cancelled', cancelled_at = now(), cancellation_reason = 'bench: assign-cancel cycle', updated_at = now()
WHERE r.id = :r_id::uuid
RETURNING r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt";
DELETE FROM review_votes WHERE review_id = :r_id::uuid;
UPDATE engineers AS e SET current_review_count = current_review_count - 1, updated_at = now()
WHERE e.id = bench_uuid('bench-engineer-' || :n::text)
RETURNING e.id::text AS id, e.name, e.email, e.expertise, e.status::text AS status, e.is_available AS "isAvailable",
  e.max_concurrent_reviews AS "maxConcurrentReviews", e.current_review_count AS "currentReviewCount",
  e.last_assigned_at AS "lastAssignedAt", e.deleted_at AS "deletedAt", e.created_at AS "createdAt", e.updated_at AS "updatedAt";
UPDATE incidents AS i SET open_review_id = NULL, updated_at = now() WHERE i.id = bench_uuid('bench-' || :tag::text || '-' || :n::text)
RETURNING i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt";
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['admin']::text[], 'review.cancelled'::audit_action, 'review'::audit_entity_type, :r_id::uuid,
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), 'pgbench'))
  AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
WITH gate AS (SELECT pg_advisory_xact_lock_shared(59361::bigint)),
previous AS (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = :r_id::uuid)
INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
SELECT gen_random_uuid(), 'review.cancelled', r.id, r.incident_id, r.engineer_id, GREATEST(clock_timestamp(), previous.at + interval '1 millisecond'), to_jsonb(r)
FROM gate, previous, reviews r WHERE r.id = :r_id::uuid;
\if :webhooks
INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, delivered_at)
SELECT gen_random_uuid(), 'review.cancelled', :r_id::uuid,
  GREATEST(clock_timestamp(), (SELECT max(occurred_at) + interval '1 millisecond' FROM webhook_events WHERE review_id = :r_id::uuid)),
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), clock_timestamp()
RETURNING id::text AS id;
SELECT graphile_worker.add_job('bench.pgbench-undelivered', json_build_object('reviewId', :r_id::text),
  queue_name => 'bench-pgbench-' || right(:r_id::text, 1), job_key => 'bench-pgbench-review-' || :r_id::text, job_key_mode => 'preserve_run_at');
\endif
COMMIT;
