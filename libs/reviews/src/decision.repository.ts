import { Injectable } from '@nestjs/common';

import { PrismaService, type Tx } from '@app/database';

export const DECISIONS_CHANNEL = 'incident_decided';

export type DecisionValue = 'ai_approach' | 'engineer_approach';

export interface VoteRow {
  adminSub: string;
  decision: DecisionValue;
  rationale: string;
  at: Date;
}

type Db = Tx | PrismaService;

/** review_votes (quorum) and the notification that wakes decision waiters on every replica. */
@Injectable()
export class DecisionRepository {
  constructor(private readonly prisma: PrismaService) {}

  async votes(reviewId: string, db: Db = this.prisma): Promise<VoteRow[]> {
    return db.$queryRaw<VoteRow[]>`
      SELECT voter AS "adminSub", decision::text AS decision, rationale, created_at AS at
      FROM review_votes WHERE review_id = ${reviewId}::uuid ORDER BY created_at, voter`;
  }

  /** False when this admin has voted on the review already (the primary key is the last word). */
  async addVote(tx: Tx, reviewId: string, vote: { adminSub: string; decision: DecisionValue; rationale: string }): Promise<boolean> {
    const inserted = await tx.$executeRaw`
      INSERT INTO review_votes (review_id, voter, decision, rationale)
      VALUES (${reviewId}::uuid, ${vote.adminSub}, ${vote.decision}::approach, ${vote.rationale})
      ON CONFLICT (review_id, voter) DO NOTHING`;
    return inserted === 1;
  }

  async discardVotes(tx: Tx, reviewId: string): Promise<void> {
    await tx.$executeRaw`DELETE FROM review_votes WHERE review_id = ${reviewId}::uuid`;
  }

  /** Delivered to every replica's LISTEN connection when `tx` commits, never if it rolls back. */
  async announceDecision(tx: Tx, incidentId: string): Promise<void> {
    await tx.$executeRaw`SELECT pg_notify(${DECISIONS_CHANNEL}, ${incidentId})`;
  }
}
