import { createHash } from 'node:crypto';

/** The `prev_hash` of the first sealed entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** An audit entry exactly as stored: the input of its seal's hash. */
export interface StoredAuditEntry {
  id: string;
  seq: bigint;
  occurredAt: Date;
  actorSub: string;
  actorRoles: string[] | null;
  action: string;
  entityType: string;
  entityId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

/**
 * JSON with object keys sorted (by UTF-16 code units) at every depth and no whitespace, so that
 * the same value always gives the same bytes, whatever key order jsonb or a client produced.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Cannot serialise ${value} canonically`);
      return JSON.stringify(value);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
      const fields = Object.entries(value as Record<string, unknown>)
        .filter(([, field]) => field !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`);
      return `{${fields.join(',')}}`;
    }
    default:
      throw new TypeError(`Cannot serialise a ${typeof value} canonically`);
  }
}

/** Every stored field of the entry, seq included, so that no field can change without breaking the chain. */
export function canonicalEntry(entry: StoredAuditEntry): string {
  return canonicalJson({
    id: entry.id,
    seq: entry.seq,
    occurredAt: entry.occurredAt.toISOString(),
    actorSub: entry.actorSub,
    actorRoles: entry.actorRoles,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    before: entry.before,
    after: entry.after,
    requestId: entry.requestId,
  });
}

/** hash(n) = sha256(hash(n-1) ‖ canonical(entry n)), hex; see docs/audit.md. */
export function chainHash(previousHash: string, entry: StoredAuditEntry): string {
  return createHash('sha256').update(previousHash).update(canonicalEntry(entry)).digest('hex');
}
