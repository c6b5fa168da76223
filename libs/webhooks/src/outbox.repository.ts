import { Injectable } from '@nestjs/common';

import { Prisma, type Tx } from '@app/database';

import type { ReviewEvent } from './webhook-event.js';

/** The only code that writes webhook_events: rows are added in the transaction of the change they describe. */
@Injectable()
export class OutboxRepository {
  async append(tx: Tx, events: ReviewEvent[]): Promise<string[]> {
    if (events.length === 0) return [];
    // clock_timestamp() keeps the order of several events written by one transaction.
    const rows = events.map(
      (event) => Prisma.sql`(gen_random_uuid(), ${event.type}, ${event.review.id}::uuid, clock_timestamp(), ${JSON.stringify(event.review)}::jsonb)`,
    );
    const inserted = await tx.$queryRaw<{ id: string }[]>`
      INSERT INTO webhook_events (id, type, review_id, occurred_at, payload) VALUES ${Prisma.join(rows)} RETURNING id::text AS id`;
    return inserted.map((row) => row.id);
  }
}
