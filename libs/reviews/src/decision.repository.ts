import { Injectable } from '@nestjs/common';

import { col, columns, Prisma, PrismaService, type RowOf, type Tx } from '@app/database';

export const DECISIONS_CHANNEL = 'incident_decided';

export type DecisionValue = 'ai_approach' | 'engineer_approach';

const VOTE_COLUMNS = columns('review_votes', 'v', {
  adminSub: col.text('voter'),
  decision: col.enum<DecisionValue>('decision', 'approach'),
  rationale: col.text('rationale'),
  at: col.timestamptz('created_at'),
});

export type VoteRow = RowOf<typeof VOTE_COLUMNS>;

type Db = Tx | PrismaService;

/** review_votes (quorum) and the notification that wakes decision waiters on every replica. */
@Injectable()
export class DecisionRepository {
  constructor(private readonly prisma: PrismaService) {}

  async votes(reviewId: string, db: Db = this.prisma): Promise<VoteRow[]> {
    return VOTE_COLUMNS.query(
      db,
      Prisma.sql`SELECT ${VOTE_COLUMNS.select} FROM review_votes v WHERE v.review_id = ${reviewId}::uuid ORDER BY v.created_at, v.voter`,
    );
  }

  /** False when this admin has voted on the review already (the primary key is the last word). */
  async addVote(tx: Tx, reviewId: string, vote: { adminSub: string; decision: DecisionValue; rationale: string }): Promise<boolean> {
    const inserted = await tx.$executeRaw`
      INSERT INTO review_votes (review_id, voter, decision, rationale)
      VALUES (${reviewId}::uuid, ${vote.adminSub}, ${vote.decision}::approach, ${vote.rationale})
      ON CONFLICT (review_id, voter) DO NOTHING`;
    return inserted === 1;
  }

  /** The review's votes removed (it is no longer decidable): a step of a combined statement. */
  discardVotesStep(reviewId: string): Prisma.Sql {
    return Prisma.sql`DELETE FROM review_votes WHERE review_id = ${reviewId}::uuid`;
  }

  /**
   * The notification delivered to every replica's LISTEN connection when the transaction commits,
   * never if it rolls back: a step of a combined statement. A SELECT step runs only when the
   * statement reads it, so read its count.
   */
  announceDecisionStep(incidentId: string): Prisma.Sql {
    return Prisma.sql`SELECT pg_notify(${DECISIONS_CHANNEL}, ${incidentId})`;
  }
}
