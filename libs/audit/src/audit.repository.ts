import { Injectable } from '@nestjs/common';

import { Prisma, type Tx } from '@app/database';

import { AUDIT_SEAL_LOCK_KEY, type AuditActor, type AuditRecord } from './audit.types.js';

@Injectable()
export class AuditRepository {
  /** Appends entries inside the caller's transaction: they commit or roll back with the change. */
  async append(tx: Tx, actor: AuditActor, records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = records.map(
      (record) => Prisma.sql`(${actor.sub}, ${actor.roles}::text[], ${record.action}::audit_action, ${record.entityType}::audit_entity_type,
        ${record.entityId}::uuid, ${json(record.before)}::jsonb, ${json(record.after)}::jsonb, ${actor.requestId})`,
    );
    await tx.$executeRaw`
      WITH seal_gate AS (SELECT pg_advisory_xact_lock_shared(${AUDIT_SEAL_LOCK_KEY}::bigint))
      INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
      SELECT v.* FROM seal_gate, (VALUES ${Prisma.join(rows)}) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)`;
  }
}

function json(value: object | null): string | null {
  return value === null ? null : JSON.stringify(value);
}
