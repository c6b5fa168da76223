-- The event log behind GET /api/v1/events: position is assigned in commit order by the sequencer
-- (docs/architecture.md, "Event stream").
-- CreateTable
CREATE TABLE "review_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "position" BIGINT,
    "type" TEXT NOT NULL,
    "review_id" UUID NOT NULL,
    "incident_id" UUID NOT NULL,
    "engineer_id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "payload" JSONB NOT NULL,

    CONSTRAINT "review_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "review_events_seq_key" ON "review_events"("seq");

-- CreateIndex
CREATE UNIQUE INDEX "review_events_position_key" ON "review_events"("position");

-- CreateIndex
CREATE INDEX "review_events_unsequenced_idx" ON "review_events"("seq") WHERE ("position" IS NULL);

-- CreateIndex
CREATE INDEX "review_events_review_id_occurred_at_idx" ON "review_events"("review_id", "occurred_at");

-- CreateIndex
CREATE INDEX "review_events_occurred_at_idx" ON "review_events"("occurred_at");
