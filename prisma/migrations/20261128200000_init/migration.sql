-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "engineer_status" AS ENUM ('active', 'on_leave', 'offline');

-- CreateEnum
CREATE TYPE "incident_severity" AS ENUM ('low', 'medium', 'high', 'critical');

-- CreateEnum
CREATE TYPE "incident_status" AS ENUM ('detected', 'analyzing', 'pending_approval', 'approved', 'resolved');

-- CreateEnum
CREATE TYPE "approach" AS ENUM ('ai_approach', 'engineer_approach');

-- CreateEnum
CREATE TYPE "review_status" AS ENUM ('assigned', 'in_progress', 'submitted', 'accepted', 'rejected', 'cancelled');

-- CreateEnum
CREATE TYPE "review_priority" AS ENUM ('low', 'normal', 'high', 'critical');

-- CreateEnum
CREATE TYPE "review_decision" AS ENUM ('pending', 'ai_approach', 'engineer_approach');

-- CreateEnum
CREATE TYPE "assignment_strategy" AS ENUM ('manual', 'auto', 'reassign', 'escalation', 'drain');

-- CreateEnum
CREATE TYPE "audit_action" AS ENUM ('engineer.created', 'engineer.updated', 'engineer.deleted', 'engineer.drained', 'incident.created', 'incident.status_changed', 'incident.decided', 'review.assigned', 'review.started', 'review.submitted', 'review.cancelled', 'review.decided', 'review.reassigned', 'review.escalated', 'review.decision_overdue', 'workload.reconciled');

-- CreateEnum
CREATE TYPE "audit_entity_type" AS ENUM ('engineer', 'incident', 'review');

-- CreateTable
CREATE TABLE "engineers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "expertise" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "status" "engineer_status" NOT NULL DEFAULT 'active',
    "max_concurrent_reviews" INTEGER NOT NULL DEFAULT 3,
    "current_review_count" INTEGER NOT NULL DEFAULT 0,
    "is_available" BOOLEAN NOT NULL GENERATED ALWAYS AS (status = 'active' AND deleted_at IS NULL AND current_review_count < max_concurrent_reviews) STORED,
    "last_assigned_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "engineers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "incidents" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "title" TEXT NOT NULL,
    "description" TEXT,
    "severity" "incident_severity" NOT NULL,
    "ai_proposal" TEXT NOT NULL,
    "required_expertise" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "external_ref" TEXT,
    "status" "incident_status" NOT NULL DEFAULT 'detected',
    "chosen_approach" "approach",
    "open_review_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "incidents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reviews" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "incident_id" UUID NOT NULL,
    "engineer_id" UUID NOT NULL,
    "status" "review_status" NOT NULL DEFAULT 'assigned',
    "priority" "review_priority" NOT NULL DEFAULT 'normal',
    "assigned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "submitted_at" TIMESTAMPTZ(3),
    "expected_completion_at" TIMESTAMPTZ(3) NOT NULL,
    "escalation_level" SMALLINT NOT NULL DEFAULT 0,
    "last_escalated_at" TIMESTAMPTZ(3),
    "approach" TEXT,
    "analysis" TEXT,
    "confidence" DOUBLE PRECISION,
    "decision" "review_decision" NOT NULL DEFAULT 'pending',
    "decision_made_at" TIMESTAMPTZ(3),
    "decision_rationale" TEXT,
    "decided_by" TEXT,
    "cancelled_at" TIMESTAMPTZ(3),
    "cancellation_reason" TEXT,
    "reassigned_from_id" UUID,
    "decision_overdue_at" TIMESTAMPTZ(3),
    "assignment_strategy" "assignment_strategy" NOT NULL,
    "assigned_by" TEXT NOT NULL,
    "assignment_candidates" INTEGER,
    "assignment_load_ratio" DOUBLE PRECISION,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reviews_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_entries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "seq" BIGSERIAL NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_sub" TEXT NOT NULL,
    "actor_roles" TEXT[],
    "action" "audit_action" NOT NULL,
    "entity_type" "audit_entity_type" NOT NULL,
    "entity_id" UUID NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "request_id" TEXT,

    CONSTRAINT "audit_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_seals" (
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "sealed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_seals_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "idempotency_records" (
    "subject" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status_code" INTEGER,
    "response_body" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "idempotency_records_pkey" PRIMARY KEY ("subject","method","path","key")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "type" TEXT NOT NULL,
    "review_id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload" JSONB NOT NULL,
    "delivered_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_attempt_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "engineers_email_key" ON "engineers"("email");

-- CreateIndex
CREATE INDEX "engineers_created_at_id_idx" ON "engineers"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "incidents_external_ref_key" ON "incidents"("external_ref");

-- CreateIndex
CREATE UNIQUE INDEX "incidents_open_review_key" ON "incidents"("open_review_id");

-- CreateIndex
CREATE INDEX "incidents_created_at_id_idx" ON "incidents"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "incidents_status_created_at_id_idx" ON "incidents"("status", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "reviews_incident_submitted_idx" ON "reviews"("incident_id", "submitted_at") WHERE (status = 'submitted');

-- CreateIndex
CREATE INDEX "reviews_assigned_at_id_idx" ON "reviews"("assigned_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "reviews_engineer_id_status_idx" ON "reviews"("engineer_id", "status");

-- CreateIndex
CREATE INDEX "reviews_incident_id_assigned_at_idx" ON "reviews"("incident_id", "assigned_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "reviews_one_open_per_incident" ON "reviews"("incident_id") WHERE (status IN ('assigned', 'in_progress', 'submitted'));

-- CreateIndex
CREATE UNIQUE INDEX "audit_entries_seq_key" ON "audit_entries"("seq");

-- CreateIndex
CREATE INDEX "audit_entries_entity_type_entity_id_seq_idx" ON "audit_entries"("entity_type", "entity_id", "seq");

-- CreateIndex
CREATE INDEX "audit_entries_actor_sub_seq_idx" ON "audit_entries"("actor_sub", "seq");

-- CreateIndex
CREATE INDEX "audit_entries_action_seq_idx" ON "audit_entries"("action", "seq");

-- CreateIndex
CREATE INDEX "audit_entries_occurred_at_idx" ON "audit_entries"("occurred_at");

-- CreateIndex
CREATE INDEX "idempotency_records_created_at_idx" ON "idempotency_records"("created_at");

-- CreateIndex
CREATE INDEX "webhook_events_undelivered_idx" ON "webhook_events"("occurred_at") WHERE (delivered_at IS NULL);

-- CreateIndex
CREATE INDEX "webhook_events_review_id_occurred_at_idx" ON "webhook_events"("review_id", "occurred_at");

-- AddForeignKey
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_open_review_id_fkey" FOREIGN KEY ("open_review_id") REFERENCES "reviews"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reviews" ADD CONSTRAINT "reviews_incident_id_fkey" FOREIGN KEY ("incident_id") REFERENCES "incidents"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reviews" ADD CONSTRAINT "reviews_engineer_id_fkey" FOREIGN KEY ("engineer_id") REFERENCES "engineers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reviews" ADD CONSTRAINT "reviews_reassigned_from_id_fkey" FOREIGN KEY ("reassigned_from_id") REFERENCES "reviews"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- Invariants that the Prisma schema language cannot express, written by hand in this migration.
-- ---------------------------------------------------------------------------------------------

-- #7: the workload counter can never go negative or above capacity, and capacity is positive.
ALTER TABLE "engineers"
  ADD CONSTRAINT "engineers_review_count_non_negative" CHECK (current_review_count >= 0),
  ADD CONSTRAINT "engineers_review_count_within_capacity" CHECK (current_review_count <= max_concurrent_reviews),
  ADD CONSTRAINT "engineers_max_reviews_positive" CHECK (max_concurrent_reviews > 0),
  ADD CONSTRAINT "engineers_email_lower_case" CHECK (email = lower(email));

ALTER TABLE "reviews"
  ADD CONSTRAINT "reviews_escalation_level_range" CHECK (escalation_level BETWEEN 0 AND 2),
  ADD CONSTRAINT "reviews_confidence_range" CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
  ADD CONSTRAINT "reviews_decision_matches_status" CHECK (
    (status = 'accepted' AND decision = 'engineer_approach') OR
    (status = 'rejected' AND decision = 'ai_approach') OR
    (status NOT IN ('accepted', 'rejected') AND decision = 'pending'));

-- #16: expertise containment (@>) served by GIN indexes.
CREATE INDEX "engineers_expertise_gin" ON "engineers" USING GIN ("expertise");
CREATE INDEX "incidents_required_expertise_gin" ON "incidents" USING GIN ("required_expertise");

-- Candidates for assignment: only available engineers, in ranking order.
CREATE INDEX "engineers_available_ranking_idx" ON "engineers"
  ((current_review_count::float8 / max_concurrent_reviews), last_assigned_at NULLS FIRST, id)
  WHERE is_available;

-- #9: the scheduler's claims and the overdue filter use these partial indexes, never a scan.
CREATE INDEX "reviews_open_deadline_idx" ON "reviews" (expected_completion_at, id)
  WHERE status IN ('assigned', 'in_progress');
CREATE INDEX "reviews_escalation_due_idx" ON "reviews" (escalation_level, expected_completion_at, id)
  WHERE status IN ('assigned', 'in_progress') AND escalation_level < 2;
CREATE INDEX "reviews_decision_wait_idx" ON "reviews" (submitted_at, id)
  WHERE status = 'submitted' AND decision_overdue_at IS NULL;
CREATE INDEX "reviews_engineer_assigned_idx" ON "reviews" (engineer_id, assigned_at DESC, id DESC);

-- #17: audit entries and their seals are append-only. Only a superuser who disables the trigger
-- can change them, and the hash chain (docs/audit.md) makes such a change detectable.
CREATE FUNCTION "refuse_audit_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "audit_entries_append_only"
  BEFORE UPDATE OR DELETE ON "audit_entries"
  FOR EACH ROW EXECUTE FUNCTION "refuse_audit_change"();
CREATE TRIGGER "audit_entries_no_truncate"
  BEFORE TRUNCATE ON "audit_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_audit_change"();
CREATE TRIGGER "audit_seals_append_only"
  BEFORE UPDATE OR DELETE ON "audit_seals"
  FOR EACH ROW EXECUTE FUNCTION "refuse_audit_change"();
CREATE TRIGGER "audit_seals_no_truncate"
  BEFORE TRUNCATE ON "audit_seals"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_audit_change"();
