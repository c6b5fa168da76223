-- One assign → cancel cycle as the least SQL that does the business operation: the floor the
-- service is compared with (bench/README.md, "Reference rows"). One transaction per request, row
-- locks first, no RETURNING lists, no event log, no outbox, an audit row with only the columns the
-- table requires (no before/after payload, no seal gate). Everything the service sends beyond this
-- (assign_cancel.sql) is the design's cost, not the database's.
-- Client c works on incident bench-<tag>-<c+1> as engineer bench-engineer-<c+1>, like HTTP client c,
-- so there is no lock contention between clients. Variable (-D): tag (incident pool).
-- The reviews are written with assigned_by 'pgbench', which the harness's webhook checks leave out.
-- pgbench replaces :name even inside string literals, so no literal here has a colon before a letter.
\set n :client_id + 1

-- assign
BEGIN;
SELECT 1 FROM engineers WHERE id = bench_uuid('bench-engineer-' || :n::text) FOR UPDATE;
SELECT 1 FROM incidents WHERE id = bench_uuid('bench-' || :tag::text || '-' || :n::text) FOR UPDATE;
INSERT INTO reviews (incident_id, engineer_id, expected_completion_at, assignment_strategy, assigned_by)
VALUES (bench_uuid('bench-' || :tag::text || '-' || :n::text), bench_uuid('bench-engineer-' || :n::text),
  now() + interval '1 day', 'manual', 'pgbench')
RETURNING id AS r_id
\gset
UPDATE engineers SET current_review_count = current_review_count + 1, last_assigned_at = now(), updated_at = now()
WHERE id = bench_uuid('bench-engineer-' || :n::text);
UPDATE incidents SET open_review_id = :r_id::uuid, updated_at = now() WHERE id = bench_uuid('bench-' || :tag::text || '-' || :n::text);
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id)
VALUES ('pgbench', '{admin}', 'review.assigned', 'review', :r_id::uuid);
COMMIT;

-- cancel
BEGIN;
SELECT 1 FROM incidents WHERE id = bench_uuid('bench-' || :tag::text || '-' || :n::text) FOR UPDATE;
SELECT 1 FROM reviews WHERE id = :r_id::uuid FOR UPDATE;
UPDATE reviews SET status = 'cancelled', cancelled_at = now(), cancellation_reason = 'bench', updated_at = now() WHERE id = :r_id::uuid;
UPDATE engineers SET current_review_count = current_review_count - 1, updated_at = now()
WHERE id = bench_uuid('bench-engineer-' || :n::text);
UPDATE incidents SET open_review_id = NULL, updated_at = now() WHERE id = bench_uuid('bench-' || :tag::text || '-' || :n::text);
INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id)
VALUES ('pgbench', '{admin}', 'review.cancelled', 'review', :r_id::uuid);
COMMIT;
