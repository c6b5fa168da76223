-- Live webhook worker pools (heartbeats): locks of a pool that stopped beating are released by the others
-- CreateTable
CREATE TABLE "webhook_dispatchers" (
    "worker_id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_dispatchers_pkey" PRIMARY KEY ("worker_id")
);

