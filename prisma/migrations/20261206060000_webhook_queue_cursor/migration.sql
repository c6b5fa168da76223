-- The enqueuer finds the events to queue by their position in the event log (review_events, in
-- commit order) past a cursor, instead of a `queued` flag on each outbox row: one row updated per
-- pass instead of one per event (docs/architecture.md, "Webhooks").
-- The cursor starts just before the oldest event the enqueuer has not queued yet, or at the end of
-- the log. Replicas of the earlier release cannot queue once `queued` is gone (their passes fail
-- and are retried); this release's replicas queue every event, theirs included.
-- CreateTable
CREATE TABLE "webhook_queue_cursor" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "position" BIGINT NOT NULL,

    CONSTRAINT "webhook_queue_cursor_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhook_queue_cursor_single_row" CHECK ("id")
);

INSERT INTO "webhook_queue_cursor" ("position")
SELECT coalesce(
  (SELECT min(r.position) - 1 FROM review_events r JOIN webhook_events w ON w.id = r.id WHERE NOT w.queued),
  (SELECT max(position) FROM review_events),
  0);

-- DropIndex
DROP INDEX "webhook_events_unqueued_idx";

-- AlterTable
ALTER TABLE "webhook_events" DROP COLUMN "queued";
