import { Injectable } from '@nestjs/common';

import { PrismaService } from '@app/database';

export interface IdempotencyScope {
  subject: string;
  method: string;
  path: string;
  key: string;
}

export interface StoredResponse {
  requestHash: string;
  statusCode: number | null;
  responseBody: unknown;
  expired: boolean;
}

/** Idempotency records: a claim row per (subject, method, path, key), completed with the stored answer. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** True when this request now owns the key; the row is committed at once so racing requests see it. */
  async claim(scope: IdempotencyScope, requestHash: string): Promise<boolean> {
    const inserted = await this.prisma.$executeRaw`
      INSERT INTO idempotency_records (subject, method, path, key, request_hash)
      VALUES (${scope.subject}, ${scope.method}, ${scope.path}, ${scope.key}, ${requestHash})
      ON CONFLICT DO NOTHING`;
    return inserted === 1;
  }

  async find(scope: IdempotencyScope, ttlSeconds: number): Promise<StoredResponse | undefined> {
    const [row] = await this.prisma.$queryRaw<StoredResponse[]>`
      SELECT request_hash AS "requestHash", status_code AS "statusCode", response_body AS "responseBody",
        created_at < now() - make_interval(secs => ${ttlSeconds}) AS expired
      FROM idempotency_records
      WHERE subject = ${scope.subject} AND method = ${scope.method} AND path = ${scope.path} AND key = ${scope.key}`;
    return row;
  }

  async complete(scope: IdempotencyScope, statusCode: number, body: unknown): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE idempotency_records SET status_code = ${statusCode}, response_body = ${JSON.stringify(body ?? null)}::jsonb, completed_at = now()
      WHERE subject = ${scope.subject} AND method = ${scope.method} AND path = ${scope.path} AND key = ${scope.key}`;
  }

  /** Forgets a claim (the handler failed with a 5xx, or the record expired) so that a retry acts afresh. */
  async release(scope: IdempotencyScope): Promise<void> {
    await this.prisma.$executeRaw`
      DELETE FROM idempotency_records
      WHERE subject = ${scope.subject} AND method = ${scope.method} AND path = ${scope.path} AND key = ${scope.key}`;
  }
}
