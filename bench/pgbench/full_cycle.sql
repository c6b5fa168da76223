-- One full review cycle, statement for statement as the service runs it: POST /api/v1/reviews on a
-- detected incident (AssignmentService.assign: the incident moves to pending_approval), then
-- POST /reviews/{id}/start and /submit (ReviewWorkService, as the engineer) and
-- POST /incidents/{id}/decision (ReviewWorkService.decide), with the SELECT and RETURNING lists of the
-- repositories (libs/*/src/*.repository.ts). Each cycle takes the next incident bench-pgb-full-<n> of
-- the sequence bench_pgbench_full_seq (the harness seeds them ahead); client c is engineer c + 1.
-- Variables (-D): webhooks (1: write the outbox like the service with WEBHOOK_URL). The event log
-- (review_events, behind its gate) is written whatever the variable says, as the service does.
-- Differences, both small: audit before/after are to_jsonb(row) instead of the API view built in
-- JavaScript, and pgbench's outbox rows are written as already delivered, with a job of a task no
-- worker runs, so that the service never delivers them (delivery is the service's own cost).
-- pgbench replaces :name even inside string literals, so no literal here has a colon before a letter.
\set n :client_id + 1
\set decision random(0, 1)
SELECT bench_uuid('bench-pgb-full-' || nextval('bench_pgbench_full_seq')) AS incident_id
\gset

-- POST /api/v1/reviews: one transaction
BEGIN;
SELECT i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"
FROM incidents i WHERE i.id = :incident_id::uuid FOR UPDATE;
SELECT e.id::text AS id, e.name, e.email, e.expertise, e.status::text AS status, e.is_available AS "isAvailable",
  e.max_concurrent_reviews AS "maxConcurrentReviews", e.current_review_count AS "currentReviewCount",
  e.last_assigned_at AS "lastAssignedAt", e.deleted_at AS "deletedAt", e.created_at AS "createdAt", e.updated_at AS "updatedAt"
FROM engineers e WHERE e.id = bench_uuid('bench-engineer-' || :n::text) FOR UPDATE;
INSERT INTO reviews AS r (id, incident_id, engineer_id, status, priority, assigned_at, expected_completion_at,
  assignment_strategy, assigned_by, assignment_candidates, assignment_load_ratio, reassigned_from_id)
VALUES (gen_random_uuid(), :incident_id::uuid, bench_uuid('bench-engineer-' || :n::text), 'assigned', 'normal'::review_priority,
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
UPDATE incidents AS i SET open_review_id = :r_id::uuid, updated_at = now() WHERE i.id = :incident_id::uuid
RETURNING i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt";
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['admin']::text[], 'review.assigned'::audit_action, 'review'::audit_entity_type, :r_id::uuid,
  NULL::jsonb, (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), 'pgbench')) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
UPDATE incidents AS i SET status = 'pending_approval'::incident_status, updated_at = now() WHERE i.id = :incident_id::uuid
RETURNING i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt";
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['admin']::text[], 'incident.status_changed'::audit_action, 'incident'::audit_entity_type, :incident_id::uuid,
  (SELECT to_jsonb(i) FROM incidents i WHERE i.id = :incident_id::uuid), (SELECT to_jsonb(i) FROM incidents i WHERE i.id = :incident_id::uuid), 'pgbench')) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
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

-- POST /api/v1/reviews/{id}/start (engineer): one transaction
BEGIN;
SELECT r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt"
FROM reviews r WHERE r.id = :r_id::uuid FOR UPDATE;
UPDATE reviews AS r SET status = 'in_progress', started_at = now(), updated_at = now() WHERE r.id = :r_id::uuid
RETURNING r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt";
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['engineer']::text[], 'review.started'::audit_action, 'review'::audit_entity_type, :r_id::uuid,
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), 'pgbench')) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
WITH gate AS (SELECT pg_advisory_xact_lock_shared(59361::bigint)),
previous AS (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = :r_id::uuid)
INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
SELECT gen_random_uuid(), 'review.started', r.id, r.incident_id, r.engineer_id, GREATEST(clock_timestamp(), previous.at + interval '1 millisecond'), to_jsonb(r)
FROM gate, previous, reviews r WHERE r.id = :r_id::uuid;
\if :webhooks
INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, delivered_at)
SELECT gen_random_uuid(), 'review.started', :r_id::uuid,
  GREATEST(clock_timestamp(), (SELECT max(occurred_at) + interval '1 millisecond' FROM webhook_events WHERE review_id = :r_id::uuid)),
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), clock_timestamp()
RETURNING id::text AS id;
SELECT graphile_worker.add_job('bench.pgbench-undelivered', json_build_object('reviewId', :r_id::text),
  queue_name => 'bench-pgbench-' || right(:r_id::text, 1), job_key => 'bench-pgbench-review-' || :r_id::text, job_key_mode => 'preserve_run_at');
\endif
COMMIT;

-- POST /api/v1/reviews/{id}/submit (engineer): one transaction
BEGIN;
SELECT r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt"
FROM reviews r WHERE r.id = :r_id::uuid FOR UPDATE;
UPDATE reviews AS r SET status = 'submitted', submitted_at = now(), started_at = coalesce(started_at, assigned_at),
  approach = 'Fail over to the secondary region, then replay the queued payments after verifying idempotency keys.',
  analysis = 'Root cause: expired TLS certificate on the primary ingress.', confidence = 0.8, updated_at = now() WHERE r.id = :r_id::uuid
RETURNING r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt";
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['engineer']::text[], 'review.submitted'::audit_action, 'review'::audit_entity_type, :r_id::uuid,
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), 'pgbench')) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
WITH gate AS (SELECT pg_advisory_xact_lock_shared(59361::bigint)),
previous AS (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = :r_id::uuid)
INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
SELECT gen_random_uuid(), 'review.submitted', r.id, r.incident_id, r.engineer_id, GREATEST(clock_timestamp(), previous.at + interval '1 millisecond'), to_jsonb(r)
FROM gate, previous, reviews r WHERE r.id = :r_id::uuid;
\if :webhooks
INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, delivered_at)
SELECT gen_random_uuid(), 'review.submitted', :r_id::uuid,
  GREATEST(clock_timestamp(), (SELECT max(occurred_at) + interval '1 millisecond' FROM webhook_events WHERE review_id = :r_id::uuid)),
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), clock_timestamp()
RETURNING id::text AS id;
SELECT graphile_worker.add_job('bench.pgbench-undelivered', json_build_object('reviewId', :r_id::text),
  queue_name => 'bench-pgbench-' || right(:r_id::text, 1), job_key => 'bench-pgbench-review-' || :r_id::text, job_key_mode => 'preserve_run_at');
\endif
COMMIT;

-- POST /api/v1/incidents/{id}/decision (admin): one transaction
BEGIN;
SELECT i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt"
FROM incidents i WHERE i.id = :incident_id::uuid FOR UPDATE;
SELECT EXISTS (SELECT 1 FROM reviews WHERE incident_id = :incident_id::uuid AND decision <> 'pending') AS decided;
SELECT r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt"
FROM reviews r WHERE r.incident_id = :incident_id::uuid AND r.status = 'submitted'
ORDER BY r.submitted_at DESC LIMIT 1 FOR UPDATE;
UPDATE reviews AS r SET status = (CASE WHEN :decision = 1 THEN 'accepted' ELSE 'rejected' END)::review_status,
  decision = (CASE WHEN :decision = 1 THEN 'engineer_approach' ELSE 'ai_approach' END)::review_decision, decision_made_at = now(),
  decision_rationale = 'bench: decided', decided_by = 'pgbench', updated_at = now() WHERE r.id = :r_id::uuid
RETURNING r.id::text AS id, r.incident_id::text AS "incidentId", r.engineer_id::text AS "engineerId", r.status::text AS status, r.priority::text AS priority,
  r.assigned_at AS "assignedAt", r.started_at AS "startedAt", r.submitted_at AS "submittedAt", r.expected_completion_at AS "expectedCompletionAt",
  (r.status IN ('assigned', 'in_progress') AND r.expected_completion_at < now()) AS overdue, r.escalation_level::int AS "escalationLevel",
  r.last_escalated_at AS "lastEscalatedAt", r.approach, r.analysis, r.confidence, r.decision::text AS decision, r.decision_made_at AS "decisionMadeAt",
  r.decision_rationale AS "decisionRationale", r.decided_by AS "decidedBy", r.cancelled_at AS "cancelledAt", r.cancellation_reason AS "cancellationReason",
  r.reassigned_from_id::text AS "reassignedFromId", r.decision_overdue_at AS "decisionOverdueAt", r.assignment_strategy::text AS "assignmentStrategy",
  r.assigned_by AS "assignedBy", r.assignment_candidates AS "assignmentCandidates", r.assignment_load_ratio AS "assignmentLoadRatio",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt";
UPDATE engineers AS e SET current_review_count = current_review_count - 1, updated_at = now()
WHERE e.id = bench_uuid('bench-engineer-' || :n::text)
RETURNING e.id::text AS id, e.name, e.email, e.expertise, e.status::text AS status, e.is_available AS "isAvailable",
  e.max_concurrent_reviews AS "maxConcurrentReviews", e.current_review_count AS "currentReviewCount",
  e.last_assigned_at AS "lastAssignedAt", e.deleted_at AS "deletedAt", e.created_at AS "createdAt", e.updated_at AS "updatedAt";
UPDATE incidents AS i SET chosen_approach = (CASE WHEN :decision = 1 THEN 'engineer_approach' ELSE 'ai_approach' END)::approach,
  status = 'approved'::incident_status, open_review_id = NULL, updated_at = now()
WHERE i.id = :incident_id::uuid
RETURNING i.id::text AS id, i.title, i.description, i.severity::text AS severity, i.ai_proposal AS "aiProposal",
  i.required_expertise AS "requiredExpertise", i.external_ref AS "externalRef", i.status::text AS status,
  i.chosen_approach::text AS "chosenApproach", i.open_review_id::text AS "openReviewId", i.created_at AS "createdAt", i.updated_at AS "updatedAt";
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['admin']::text[], 'review.decided'::audit_action, 'review'::audit_entity_type, :r_id::uuid,
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), 'pgbench')) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
WITH gate AS (SELECT pg_advisory_xact_lock_shared(59361::bigint)),
previous AS (SELECT max(occurred_at) AS at FROM review_events WHERE review_id = :r_id::uuid)
INSERT INTO review_events (id, type, review_id, incident_id, engineer_id, occurred_at, payload)
SELECT gen_random_uuid(), 'review.decided', r.id, r.incident_id, r.engineer_id, GREATEST(clock_timestamp(), previous.at + interval '1 millisecond'), to_jsonb(r)
FROM gate, previous, reviews r WHERE r.id = :r_id::uuid;
\if :webhooks
INSERT INTO webhook_events (id, type, review_id, occurred_at, payload, delivered_at)
SELECT gen_random_uuid(), 'review.decided', :r_id::uuid,
  GREATEST(clock_timestamp(), (SELECT max(occurred_at) + interval '1 millisecond' FROM webhook_events WHERE review_id = :r_id::uuid)),
  (SELECT to_jsonb(r) FROM reviews r WHERE r.id = :r_id::uuid), clock_timestamp()
RETURNING id::text AS id;
SELECT graphile_worker.add_job('bench.pgbench-undelivered', json_build_object('reviewId', :r_id::text),
  queue_name => 'bench-pgbench-' || right(:r_id::text, 1), job_key => 'bench-pgbench-review-' || :r_id::text, job_key_mode => 'preserve_run_at');
\endif
WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(24225::bigint))
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
SELECT v.* FROM seal_gate, (VALUES ('pgbench', ARRAY['admin']::text[], 'incident.decided'::audit_action, 'incident'::audit_entity_type, :incident_id::uuid,
  (SELECT to_jsonb(i) FROM incidents i WHERE i.id = :incident_id::uuid), (SELECT to_jsonb(i) FROM incidents i WHERE i.id = :incident_id::uuid), 'pgbench')) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id);
SELECT pg_notify('incident_decided', :incident_id::text);
COMMIT;
