-- Delivery jobs are added after the event's transaction commits, in batches, by the enqueuer
-- (docs/architecture.md, "Webhooks"): `queued` says the review's job has been added for this event.
-- Rows written before this migration already have their job (it was added in their transaction):
-- the column is added with default true (no table rewrite), then new rows default to false.
-- AlterTable
ALTER TABLE "webhook_events" ADD COLUMN "queued" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "webhook_events" ALTER COLUMN "queued" SET DEFAULT false;

-- CreateIndex
CREATE INDEX "webhook_events_unqueued_idx" ON "webhook_events"("occurred_at") WHERE NOT queued;
