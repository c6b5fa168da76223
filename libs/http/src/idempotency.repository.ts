import { Injectable } from '@nestjs/common';

import { col, columns, Prisma, PrismaService, type RowOf } from '@app/database';

export interface IdempotencyScope {
  subject: string;
  method: string;
  path: string;
  key: string;
}

/**
 * IdempotencyRepository.purgeExpired's statement; exported for the test that checks its plan. $1 TTL
 * in seconds, $2 limit. The rows are named by their physical address, which their lock keeps stable
 * until the delete: joined on the key instead, the planner may hash the whole table.
 */
export const PURGE_EXPIRED_IDEMPOTENCY_SQL = `DELETE FROM idempotency_records
   WHERE ctid = ANY(ARRAY(
     SELECT ctid FROM idempotency_records
     WHERE created_at < now() - make_interval(secs => $1::int)
     ORDER BY created_at LIMIT $2::int FOR UPDATE SKIP LOCKED))`;

/** The request acting on a key: its random owner id and how long its lease lasts without renewal. */
export interface IdempotencyClaim {
  owner: string;
  leaseSeconds: number;
}

const STORED_COLUMNS = columns('idempotency_records', 'r', {
  requestHash: col.text('request_hash'),
  statusCode: col.integer('status_code').nullable(),
  responseBody: col.jsonb('response_body').nullable(),
  /** Until the owner's lease runs out (0 when it has). */
  leaseRemainingMs: col.computed<number>(
    (r) => Prisma.sql`greatest(0, ceil(extract(epoch FROM ${Prisma.raw(r)}.lease_until - now()) * 1000))::int`,
  ),
});

export type StoredResponse = RowOf<typeof STORED_COLUMNS>;

/**
 * Idempotency records: a claim row per (subject, method, path, key), completed with the stored
 * answer. A claim is a lease: its owner renews it while the request runs, and a claim whose lease
 * ran out (its replica died) can be taken over by a request with the same body.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * True when this request now owns the key: a new row, or the takeover of an abandoned claim or of
   * a record older than `ttlSeconds`. Committed at once so racing requests see it.
   */
  async claim(scope: IdempotencyScope, requestHash: string, claim: IdempotencyClaim, ttlSeconds: number): Promise<boolean> {
    const claimed = await this.prisma.$executeRaw`
      INSERT INTO idempotency_records AS r (subject, method, path, key, request_hash, owner, lease_until)
      VALUES (${scope.subject}, ${scope.method}, ${scope.path}, ${scope.key}, ${requestHash}, ${claim.owner}::uuid,
        now() + make_interval(secs => ${claim.leaseSeconds}))
      ON CONFLICT (subject, method, path, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until,
          status_code = NULL, response_body = NULL, completed_at = NULL, created_at = now()
        WHERE r.created_at < now() - make_interval(secs => ${ttlSeconds})
          OR (r.status_code IS NULL AND r.lease_until < now() AND r.request_hash = EXCLUDED.request_hash)`;
    return claimed === 1;
  }

  async find(scope: IdempotencyScope): Promise<StoredResponse | undefined> {
    const [row] = await STORED_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${STORED_COLUMNS.select} FROM idempotency_records r
      WHERE r.subject = ${scope.subject} AND r.method = ${scope.method} AND r.path = ${scope.path} AND r.key = ${scope.key}`,
    );
    return row;
  }

  /** Extends the lease; false when the claim is no longer this owner's (it was taken over). */
  async renew(scope: IdempotencyScope, claim: IdempotencyClaim): Promise<boolean> {
    const renewed = await this.prisma.$executeRaw`
      UPDATE idempotency_records SET lease_until = now() + make_interval(secs => ${claim.leaseSeconds})
      WHERE subject = ${scope.subject} AND method = ${scope.method} AND path = ${scope.path} AND key = ${scope.key}
        AND owner = ${claim.owner}::uuid AND status_code IS NULL`;
    return renewed === 1;
  }

  async complete(scope: IdempotencyScope, claim: IdempotencyClaim, statusCode: number, body: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE idempotency_records SET status_code = ${statusCode}, response_body = ${body}::jsonb, completed_at = now()
      WHERE subject = ${scope.subject} AND method = ${scope.method} AND path = ${scope.path} AND key = ${scope.key}
        AND owner = ${claim.owner}::uuid`;
  }

  /** Forgets this owner's claim (the handler failed with a 5xx) so that a retry acts afresh. */
  async release(scope: IdempotencyScope, claim: IdempotencyClaim): Promise<void> {
    await this.prisma.$executeRaw`
      DELETE FROM idempotency_records
      WHERE subject = ${scope.subject} AND method = ${scope.method} AND path = ${scope.path} AND key = ${scope.key}
        AND owner = ${claim.owner}::uuid`;
  }

  /**
   * Deletes at most `limit` records created more than `ttlSeconds` ago, oldest first. Rows another
   * replica's purge is deleting at the same moment are skipped, not waited for.
   */
  async purgeExpired(ttlSeconds: number, limit: number): Promise<number> {
    return this.prisma.$executeRawUnsafe(PURGE_EXPIRED_IDEMPOTENCY_SQL, ttlSeconds, limit);
  }
}
