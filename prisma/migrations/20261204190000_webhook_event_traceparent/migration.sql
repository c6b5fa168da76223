-- The W3C traceparent of the request (or scheduler pass) that caused the event, sent with its delivery.
-- Nullable and without default: replicas still running the previous release keep writing events.
-- AlterTable
ALTER TABLE "webhook_events" ADD COLUMN "traceparent" TEXT;
