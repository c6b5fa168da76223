-- The dispatcher reads the undelivered events of the reviews it delivers (DeliveryRepository
-- .pendingOfReviews). With only the review index and the partial index on occurred_at, PostgreSQL
-- ANDed the two in a bitmap, and a bitmap scan visits every entry of the partial index, including
-- those of events delivered since the last vacuum: tens of thousands under load. This index answers
-- that read alone, visiting only the entries of the reviews it names.
-- CreateIndex
CREATE INDEX "webhook_events_undelivered_by_review_idx" ON "webhook_events"("review_id", "occurred_at") WHERE (delivered_at IS NULL);
