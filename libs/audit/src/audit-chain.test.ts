import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { canonicalEntry, canonicalJson, chainHash, GENESIS_HASH, type StoredAuditEntry } from './audit-chain.js';

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
    expect(chainHash(GENESIS_HASH, entry)).toBe(createHash('sha256').update(GENESIS_HASH + canonical).digest('hex'));
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
