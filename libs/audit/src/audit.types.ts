export const AUDIT_ACTIONS = [
  'engineer.created',
  'engineer.updated',
  'engineer.deleted',
  'engineer.drained',
  'incident.created',
  'incident.status_changed',
  'incident.decided',
  'review.assigned',
  'review.started',
  'review.submitted',
  'review.cancelled',
  'review.decided',
  'review.reassigned',
  'review.escalated',
  'review.decision_overdue',
  'review.voted',
  'workload.reconciled',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_ENTITY_TYPES = ['engineer', 'incident', 'review'] as const;
export type AuditEntityType = (typeof AUDIT_ENTITY_TYPES)[number];

/** Who did it, as recorded: the JWT's sub and roles, or system:sla for scheduled work. */
export interface AuditActor {
  sub: string;
  roles: string[];
  requestId: string | null;
}

export interface AuditRecord {
  action: AuditAction;
  entityType: AuditEntityType;
  entityId: string;
  before: object | null;
  after: object | null;
}

/**
 * Writers take this advisory lock in SHARED mode, so they never wait for each other; the sealer
 * takes it EXCLUSIVELY for an instant to learn which sequence numbers are final (docs/audit.md).
 */
export const AUDIT_SEAL_LOCK_KEY = 0x5ea1;

/** Held by whoever is sealing, so that replicas never seal the same entries twice (docs/audit.md). */
export const AUDIT_SEALER_LOCK_KEY = 0x5ea2;

export interface AuditFilter {
  entityType?: AuditEntityType;
  entityId?: string;
  actorSub?: string;
  action?: AuditAction;
  /** Inclusive, millisecond precision. */
  from?: Date;
  /** Inclusive, millisecond precision. */
  to?: Date;
}

export interface AuditSeal {
  seq: bigint;
  hash: string;
}

export interface SealedHead extends AuditSeal {
  sealedAt: Date;
}

export interface ChainVerification {
  valid: boolean;
  /** Entries whose hash was recomputed and matched their seal. */
  checked: number;
  firstInvalidSeq: number | null;
  /** Entries above the sealed head, not covered by this verification yet. */
  unsealed: number;
}

export interface ChainHead {
  seq: number | null;
  hash: string | null;
  sealedAt: string | null;
}
