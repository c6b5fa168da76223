import { createHash, createHmac } from 'node:crypto';

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

/** An entry with the hash of its seal; null while it is not sealed yet. */
export interface SealedAuditEntry extends StoredAuditEntry {
  chainHash: string | null;
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

/**
 * hash(n) = HMAC-SHA256(key, hash(n-1) ‖ canonical(entry n)), hex; without a key, plain SHA-256 of
 * the same bytes. See docs/audit.md.
 */
export function chainHash(previousHash: string, entry: StoredAuditEntry, key?: string): string {
  const digest = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  return digest.update(previousHash).update(canonicalEntry(entry)).digest('hex');
}

/** The keys of the chain: `keys[0]` seals; verification also accepts the retired ones after it. */
export interface ChainKeys {
  /** Newest first. Empty: the chain is unkeyed. */
  keys: string[];
  /** Whether seals made without a key verify (always when `keys` is empty). */
  acceptsUnkeyed: boolean;
}

/**
 * Checks seals one after the other from the first entry of the trail. A seal verifies under the key
 * the previous seal used or a newer one, never an older one: a retired key (or the unkeyed hash) can
 * only ever have made the seals before the first seal of its successor, so whoever holds it cannot
 * forge anything after that point.
 */
export class ChainWalker {
  /** Candidate keys, newest first; undefined is the unkeyed hash. */
  private readonly candidates: (string | undefined)[];
  private position: number;

  /** From the first entry of the trail, or after a seal whose hash is `previousHash`. */
  constructor(
    keys: ChainKeys,
    private previousHash = GENESIS_HASH,
  ) {
    this.candidates = keys.keys.length === 0 ? [undefined] : [...keys.keys, ...(keys.acceptsUnkeyed ? [undefined] : [])];
    this.position = this.candidates.length - 1;
  }

  /** True when `hash` seals `entry` on top of the seals accepted so far; the walk then moves past it. */
  accept(entry: StoredAuditEntry, hash: string): boolean {
    for (let index = this.position; index >= 0; index -= 1) {
      if (chainHash(this.previousHash, entry, this.candidates[index]) !== hash) continue;
      this.position = index;
      this.previousHash = hash;
      return true;
    }
    return false;
  }
}
