import { ApiProperty } from '@nestjs/swagger';

import { AUDIT_ACTIONS, AUDIT_ENTITY_TYPES, type AuditAction, type AuditEntityType } from './audit.types.js';
import type { SealedAuditEntry } from './audit-chain.js';

const SNAPSHOT = { type: 'object', additionalProperties: true, nullable: true } as const;

/** An audit entry as the API shows it (list items and export lines). */
export class AuditEntryView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ type: 'integer', description: 'Position in the audit trail; increasing, possibly with gaps (rolled-back writes)' })
  seq!: number;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({ description: "The caller's JWT sub, or system:sla for scheduled work" }) actorSub!: string;
  @ApiProperty({ type: [String] }) actorRoles!: string[];
  @ApiProperty({ enum: AUDIT_ACTIONS }) action!: AuditAction;
  @ApiProperty({ enum: AUDIT_ENTITY_TYPES }) entityType!: AuditEntityType;
  @ApiProperty({ format: 'uuid' }) entityId!: string;
  @ApiProperty({ ...SNAPSHOT, description: 'The entity as the API showed it before the change; null on creation' }) before!: object | null;
  @ApiProperty({ ...SNAPSHOT, description: 'The entity as the API shows it after the change' }) after!: object | null;
  @ApiProperty({ type: String, nullable: true, description: 'X-Request-Id of the request; null for scheduled work' }) requestId!:
    string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    pattern: '^[0-9a-f]{64}$',
    description: "Hash of this entry's seal in the audit chain (hex); null until the entry is sealed, within 2 s of its commit",
  })
  chainHash!: string | null;
}

export function toAuditEntryView(entry: SealedAuditEntry): AuditEntryView {
  return {
    id: entry.id,
    seq: Number(entry.seq),
    occurredAt: entry.occurredAt.toISOString(),
    actorSub: entry.actorSub,
    actorRoles: entry.actorRoles ?? [],
    action: entry.action as AuditAction,
    entityType: entry.entityType as AuditEntityType,
    entityId: entry.entityId,
    before: entry.before as object | null,
    after: entry.after as object | null,
    requestId: entry.requestId,
    chainHash: entry.chainHash,
  };
}
