import { createHash, createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { canonicalEntry, canonicalJson, chainHash, ChainWalker, GENESIS_HASH, type StoredAuditEntry } from './audit-chain.js';

const entry: StoredAuditEntry = {
  id: '6f1c2a52-0d7e-4a53-9d43-8f0c1b7f5e21',
  seq: 7n,
  occurredAt: new Date('2026-01-31T12:00:00.123Z'),
  actorSub: 'admin-1',
  actorRoles: ['admin'],
  action: 'engineer.updated',
  entityType: 'engineer',
  entityId: '0b9a4a3e-5a0f-4f4b-8d7e-2f1f8c2b9a11',
  before: { name: 'Ada', expertise: ['db'] },
  after: { name: 'Ada L.', expertise: ['db'] },
  requestId: 'req-1',
};

describe('canonicalJson', () => {
  it('sorts object keys at every depth, keeps array order and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('gives the same bytes whatever the key order of the input', () => {
    expect(canonicalJson({ x: 1, y: { p: 2, q: 3 } })).toBe(canonicalJson({ y: { q: 3, p: 2 }, x: 1 }));
  });

  it('writes bigints as exact integers and refuses values JSON cannot represent', () => {
    expect(canonicalJson({ seq: 9007199254740993n })).toBe('{"seq":9007199254740993}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
  });
});

describe('chainHash', () => {
  it('is sha256 of the previous hash followed by the canonical entry', () => {
    const canonical =
      '{"action":"engineer.updated","actorRoles":["admin"],"actorSub":"admin-1","after":{"expertise":["db"],"name":"Ada L."},' +
      '"before":{"expertise":["db"],"name":"Ada"},"entityId":"0b9a4a3e-5a0f-4f4b-8d7e-2f1f8c2b9a11","entityType":"engineer",' +
      '"id":"6f1c2a52-0d7e-4a53-9d43-8f0c1b7f5e21","occurredAt":"2026-01-31T12:00:00.123Z","requestId":"req-1","seq":7}';
    expect(canonicalEntry(entry)).toBe(canonical);
    expect(chainHash(GENESIS_HASH, entry)).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + canonical)
        .digest('hex'),
    );
  });

  it('changes when any stored field or the previous hash changes', () => {
    const original = chainHash(GENESIS_HASH, entry);
    const variants: Partial<StoredAuditEntry>[] = [
      { id: '6f1c2a52-0d7e-4a53-9d43-8f0c1b7f5e22' },
      { seq: 8n },
      { occurredAt: new Date('2026-01-31T12:00:00.124Z') },
      { actorSub: 'admin-2' },
      { actorRoles: ['admin', 'service'] },
      { action: 'engineer.deleted' },
      { entityType: 'review' },
      { entityId: '0b9a4a3e-5a0f-4f4b-8d7e-2f1f8c2b9a12' },
      { before: null },
      { after: { name: 'Ada L.', expertise: [] } },
      { requestId: null },
    ];
    for (const variant of variants) expect(chainHash(GENESIS_HASH, { ...entry, ...variant })).not.toBe(original);
    expect(chainHash('f'.repeat(64), entry)).not.toBe(original);
  });
});

describe('chainHash with a key', () => {
  it('is HMAC-SHA256 of the same bytes under the key', () => {
    const key = 'k'.repeat(32);
    expect(chainHash(GENESIS_HASH, entry, key)).toBe(
      createHmac('sha256', key)
        .update(GENESIS_HASH + canonicalEntry(entry))
        .digest('hex'),
    );
    expect(chainHash(GENESIS_HASH, entry, key)).not.toBe(chainHash(GENESIS_HASH, entry));
  });
});

describe('ChainWalker', () => {
  const [oldKey, newKey] = ['o'.repeat(32), 'n'.repeat(32)];
  const entries = [1n, 2n, 3n, 4n].map((seq) => ({ ...entry, seq }));

  /** Seals the entries in order, entry i with keys[i] (undefined: unkeyed). */
  function sealed(keys: (string | undefined)[]): string[] {
    let previous = GENESIS_HASH;
    return entries.map((item, index) => (previous = chainHash(previous, item, keys[index])));
  }

  function firstRefused(walker: ChainWalker, hashes: string[]): bigint | null {
    for (const [index, hash] of hashes.entries()) if (!walker.accept(entries[index]!, hash)) return entries[index]!.seq;
    return null;
  }

  it('follows a rotation to a newer key, never back to an older one', () => {
    const keys = { keys: [newKey, oldKey], acceptsUnkeyed: false };
    expect(firstRefused(new ChainWalker(keys), sealed([oldKey, oldKey, newKey, newKey]))).toBeNull();
    expect(firstRefused(new ChainWalker(keys), sealed([oldKey, newKey, oldKey, newKey]))).toBe(3n);
  });

  it('refuses unkeyed seals when keyed, unless "unkeyed" is listed, and then only before the keyed ones', () => {
    const unkeyedPrefix = sealed([undefined, undefined, newKey, newKey]);
    expect(firstRefused(new ChainWalker({ keys: [newKey], acceptsUnkeyed: false }), unkeyedPrefix)).toBe(1n);
    expect(firstRefused(new ChainWalker({ keys: [newKey], acceptsUnkeyed: true }), unkeyedPrefix)).toBeNull();
    expect(firstRefused(new ChainWalker({ keys: [newKey], acceptsUnkeyed: true }), sealed([newKey, undefined, newKey, newKey]))).toBe(2n);
  });

  it('verifies an unkeyed chain without keys, and refuses a keyed one', () => {
    expect(firstRefused(new ChainWalker({ keys: [], acceptsUnkeyed: true }), sealed([]))).toBeNull();
    expect(firstRefused(new ChainWalker({ keys: [], acceptsUnkeyed: true }), sealed([newKey]))).toBe(1n);
  });
});
