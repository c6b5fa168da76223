-- Delivered events leave the outbox WEBHOOK_RETENTION_HOURS after their delivery (OutboxPurger),
-- oldest delivery first. Only delivered rows are in this index: an event enters it with the update
-- that marks it delivered, which already writes a new entry in every index of the table. Built
-- CONCURRENTLY, alone in its migration, so that writers of the outbox (every review change) go on
-- while it is built.
-- CreateIndex
CREATE INDEX CONCURRENTLY "webhook_events_delivered_idx" ON "webhook_events"("delivered_at") WHERE (delivered_at IS NOT NULL);
