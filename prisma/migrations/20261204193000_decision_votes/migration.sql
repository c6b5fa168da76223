-- Quorum: the votes of admins on a submitted review; each vote that does not decide is audited as review.voted.
-- AlterEnum
ALTER TYPE "audit_action" ADD VALUE 'review.voted';

-- CreateTable
CREATE TABLE "review_votes" (
    "review_id" UUID NOT NULL,
    "voter" TEXT NOT NULL,
    "decision" "approach" NOT NULL,
    "rationale" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "review_votes_pkey" PRIMARY KEY ("review_id","voter")
);

-- AddForeignKey
ALTER TABLE "review_votes" ADD CONSTRAINT "review_votes_review_id_fkey" FOREIGN KEY ("review_id") REFERENCES "reviews"("id") ON DELETE CASCADE ON UPDATE CASCADE;
