-- AlterTable
ALTER TABLE "idempotency_records" ADD COLUMN     "lease_until" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "owner" UUID;
