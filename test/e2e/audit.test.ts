import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { AUDIT_SEAL_LOCK_KEY, canonicalEntry, chainHash, GENESIS_HASH, type StoredAuditEntry } from '@app/audit';

import { cloneTemplate, dropDatabase, testPool } from '../support/database.js';
import { createEngineer } from '../support/factories.js';
import { adminToken, bearer, engineerToken, serviceToken, startAppOn, startTestApp, type TestApp, token } from '../support/test-app.js';

const admin = bearer(adminToken());
const ENTRY_KEYS = [
  'action',
  'actorRoles',
  'actorSub',
  'after',
  'before',
  'chainHash',
  'entityId',
  'entityType',
  'id',
  'occurredAt',
  'requestId',
  'seq',
];
/** The contract: entries are sealed within 2 s of their commit. */
const SEALED_WITHIN_MS = 2_000;

interface Entry {
  id: string;
  seq: number;
  occurredAt: string;
  actorSub: string;
  actorRoles: string[];
  action: string;
  entityType: string;
  entityId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
  chainHash: string | null;
}

interface Verification {
  valid: boolean;
  checked: number;
  firstInvalidSeq: number | null;
  unsealed: number;
}

async function list(
  t: TestApp,
  query: Record<string, string | number> = {},
): Promise<{ items: Entry[]; total: number; page: number; totalPages: number }> {
  const res = await t.http
    .get('/api/v1/audit')
    .query({ pageSize: 100, ...query })
    .set(admin);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function verify(t: TestApp): Promise<Verification> {
  const res = await t.http.get('/api/v1/audit/verify').set(admin);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function countRows(t: TestApp, table: 'audit_entries' | 'audit_seals'): Promise<number> {
  const { rows } = await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

/** Waits for the background sealer to have sealed every entry written so far. */
async function allSealed(t: TestApp): Promise<void> {
  const deadline = Date.now() + 3 * SEALED_WITHIN_MS;
  while ((await countRows(t, 'audit_seals')) < (await countRows(t, 'audit_entries'))) {
    if (Date.now() > deadline) throw new Error('entries left unsealed');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Tampering as a superuser would: with the append-only triggers off for the duration of `work`. */
async function tamper<T>(t: TestApp, work: (sql: pg.Pool) => Promise<T>): Promise<T> {
  await t.sql.query('ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only');
  await t.sql.query('ALTER TABLE audit_seals DISABLE TRIGGER audit_seals_append_only');
  try {
    return await work(t.sql);
  } finally {
    await t.sql.query('ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only');
    await t.sql.query('ALTER TABLE audit_seals ENABLE TRIGGER audit_seals_append_only');
  }
}

/** Every stored entry as the chain hashes it, in seq order. */
async function storedEntries(t: TestApp): Promise<StoredAuditEntry[]> {
  const { rows } = await t.sql.query(
    `SELECT id::text, seq, occurred_at AS "occurredAt", actor_sub AS "actorSub", actor_roles AS "actorRoles", action::text, entity_type::text AS "entityType",
            entity_id::text AS "entityId", before, after, request_id AS "requestId" FROM audit_entries ORDER BY seq`,
  );
  return rows.map((row) => ({ ...row, seq: BigInt(row.seq) }));
}

/**
 * What an attacker with database write access does, knowing the (public) chain algorithm but not a
 * key: edits an entry, then recomputes its seal and every later one with the unkeyed hash.
 */
async function rewriteAsAttacker(t: TestApp, seq: number): Promise<void> {
  await tamper(t, async (sql) => {
    await sql.query(`UPDATE audit_entries SET after = jsonb_set(after, '{name}', '"Mallory"') WHERE seq = $1`, [seq]);
    const entries = await storedEntries(t);
    const { rows } = await sql.query<{ hash: string }>('SELECT hash FROM audit_seals WHERE seq < $1 ORDER BY seq DESC LIMIT 1', [seq]);
    let previous = rows[0]?.hash ?? GENESIS_HASH;
    for (const entry of entries.filter((candidate) => candidate.seq >= BigInt(seq))) {
      previous = chainHash(previous, entry);
      await sql.query('UPDATE audit_seals SET hash = $2 WHERE seq = $1', [entry.seq.toString(), previous]);
    }
  });
}

/** A transaction that holds the writers' shared gate, as an audit-writing use case in flight does. */
async function holdWriterGate(t: TestApp): Promise<pg.PoolClient> {
  const client = await t.sql.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock_shared($1)', [AUDIT_SEAL_LOCK_KEY]);
  return client;
}

describe('Audit trail', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  describe('listing', () => {
    let engineerA: Record<string, any>;
    let incident: Record<string, any>;
    let all: Entry[];

    beforeAll(async () => {
      engineerA = await createEngineer(t, { name: 'Audit A' });
      await createEngineer(t, { name: 'Audit B' });
      const patch = await t.http
        .patch(`/api/v1/engineers/${engineerA.id}`)
        .set(bearer(adminToken('admin-2')))
        .set('X-Request-Id', 'audit-patch-1')
        .send({ name: 'Audit A2' });
      expect(patch.status).toBe(200);
      const created = await t.http
        .post('/api/v1/incidents')
        .set(bearer(serviceToken()))
        .send({ title: 'Disk full', severity: 'low', aiProposal: 'Grow the volume' });
      expect(created.status).toBe(201);
      incident = created.body;
      all = (await list(t)).items;
    });

    it('answers pages of entries in the contract shape, in ascending seq', async () => {
      expect(all.length).toBeGreaterThanOrEqual(4);
      expect(all.map((entry) => entry.seq)).toEqual([...all.map((entry) => entry.seq)].sort((a, b) => a - b));
      for (const entry of all) expect(Object.keys(entry).sort()).toEqual(ENTRY_KEYS);
      const update = all.find((entry) => entry.action === 'engineer.updated')!;
      expect(update).toMatchObject({
        actorSub: 'admin-2',
        actorRoles: ['admin'],
        entityType: 'engineer',
        entityId: engineerA.id,
        requestId: 'audit-patch-1',
        before: { id: engineerA.id, name: 'Audit A' },
        after: { id: engineerA.id, name: 'Audit A2' },
      });
      expect(typeof update.seq).toBe('number');
      expect(update.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      const page2 = await list(t, { page: 2, pageSize: 2 });
      expect(page2).toMatchObject({ total: all.length, page: 2, pageSize: 2, totalPages: Math.ceil(all.length / 2) });
      expect(page2.items.map((entry) => entry.seq)).toEqual(all.slice(2, 4).map((entry) => entry.seq));
      const clamped = await list(t, { page: 999, pageSize: 2 });
      expect(clamped.page).toBe(clamped.totalPages);
      const empty = await list(t, { actorSub: 'nobody' });
      expect(empty).toMatchObject({ items: [], total: 0, page: 1, totalPages: 1 });
    });

    it('filters by entityType, entityId, actorSub and action', async () => {
      const incidents = await list(t, { entityType: 'incident' });
      expect(incidents.items.length).toBeGreaterThan(0);
      expect(incidents.items.every((entry) => entry.entityType === 'incident')).toBe(true);
      expect(incidents.items.map((entry) => entry.entityId)).toContain(incident.id);

      const ofA = await list(t, { entityId: engineerA.id });
      expect(ofA.items.map((entry) => entry.action)).toEqual(['engineer.created', 'engineer.updated']);

      const byAdmin2 = await list(t, { actorSub: 'admin-2' });
      expect(byAdmin2.items.map((entry) => entry.action)).toEqual(['engineer.updated']);
      const byPipeline = await list(t, { actorSub: 'pipeline-1' });
      expect(byPipeline.items.map((entry) => entry.entityId)).toEqual([incident.id]);

      const updates = await list(t, { action: 'engineer.updated' });
      expect(updates.items.map((entry) => entry.entityId)).toEqual([engineerA.id]);

      const combined = await list(t, { entityType: 'engineer', action: 'engineer.created', actorSub: 'admin-1' });
      expect(combined.items.map((entry) => entry.seq)).toEqual(
        all
          .filter((entry) => entry.entityType === 'engineer' && entry.action === 'engineer.created' && entry.actorSub === 'admin-1')
          .map((entry) => entry.seq),
      );
    });

    it('filters by an inclusive from/to window compared at millisecond precision', async () => {
      const [, second, third] = all;
      const window = await list(t, { from: second!.occurredAt, to: third!.occurredAt });
      expect(window.items.map((entry) => entry.seq)).toEqual(
        all.filter((entry) => entry.occurredAt >= second!.occurredAt && entry.occurredAt <= third!.occurredAt).map((entry) => entry.seq),
      );
      expect(window.items.map((entry) => entry.seq)).toEqual(expect.arrayContaining([second!.seq, third!.seq]));

      // Sub-millisecond digits are cut, not rounded: ".1239" is ".123", which still includes an entry at ".123".
      const fromWithMicros = second!.occurredAt.replace('Z', '9Z');
      const fromSecond = await list(t, { from: fromWithMicros });
      expect(fromSecond.items.map((entry) => entry.seq)).toContain(second!.seq);

      // The same instant written with an offset.
      const instant = new Date(third!.occurredAt);
      const local = new Date(instant.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
      const untilThird = await list(t, { to: local });
      expect(untilThird.items.map((entry) => entry.seq)).toEqual(
        all.filter((entry) => entry.occurredAt <= third!.occurredAt).map((entry) => entry.seq),
      );

      const inverted = await list(t, { from: third!.occurredAt, to: '2000-01-01T00:00:00Z' });
      expect(inverted.total).toBe(0);
    });

    it.each([
      ['entityType', 'ENGINEER'],
      ['entityType', 'webhook'],
      ['entityId', 'not-a-uuid'],
      ['action', 'engineer.exploded'],
      ['action', ''],
      ['actorSub', ''],
      ['from', 'yesterday'],
      ['from', '2026-02-30T00:00:00Z'],
      ['to', '2026-01-31'],
      ['to', '2026-01-31T12:00:00'],
      ['page', '0'],
      ['pageSize', '101'],
      ['pageSize', 'ten'],
    ])('rejects %s=%j with 400 on the list and the export', async (field, value) => {
      for (const path of ['/api/v1/audit', '/api/v1/audit/export']) {
        if (path.endsWith('export') && (field === 'page' || field === 'pageSize')) continue;
        const res = await t.http
          .get(path)
          .query({ [field]: value })
          .set(admin);
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(res.body.errors.map((error: { field: string }) => error.field)).toContain(field);
      }
    });

    it('rejects unknown parameters, and paging on the export', async () => {
      expect((await t.http.get('/api/v1/audit').query({ sort: 'desc' }).set(admin)).status).toBe(400);
      expect((await t.http.get('/api/v1/audit/export').query({ page: 1 }).set(admin)).status).toBe(400);
    });

    it('is for admins only', async () => {
      for (const path of ['/api/v1/audit', '/api/v1/audit/export', '/api/v1/audit/verify', '/api/v1/audit/head']) {
        expect((await t.http.get(path)).status).toBe(401);
        expect((await t.http.get(path).set(bearer(serviceToken()))).body.code).toBe('FORBIDDEN');
        expect((await t.http.get(path).set(bearer(engineerToken(engineerA.id)))).status).toBe(403);
        expect((await t.http.get(path).set(bearer(token({ roles: [] })))).status).toBe(403);
      }
    });

    it('is described in the OpenAPI document', async () => {
      const doc = (await t.http.get('/docs-json').expect(200)).body;
      const list = doc.paths['/api/v1/audit'].get;
      expect(list.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual([
        'action',
        'actorSub',
        'entityId',
        'entityType',
        'from',
        'page',
        'pageSize',
        'to',
      ]);
      expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
      const exportResponses = doc.paths['/api/v1/audit/export'].get.responses;
      expect(exportResponses['200'].content['application/x-ndjson'].schema.$ref).toBe('#/components/schemas/AuditEntryView');
      expect(Object.keys(doc.paths['/api/v1/audit/verify'].get.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '503']));
      expect(Object.keys(doc.components.schemas.ChainVerificationDto.properties).sort()).toEqual([
        'checked',
        'firstInvalidSeq',
        'unsealed',
        'valid',
      ]);
      expect(Object.keys(doc.paths['/api/v1/audit/head'].get.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
      expect(Object.keys(doc.components.schemas.ChainHeadDto.properties).sort()).toEqual(['hash', 'sealedAt', 'seq']);
      expect(Object.keys(doc.components.schemas.AuditEntryView.properties).sort()).toEqual(ENTRY_KEYS);
    });

    it('exports every matching entry as NDJSON in ascending seq', async () => {
      await allSealed(t);
      const res = await t.http.get('/api/v1/audit/export').set(admin);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = res.text.split('\n');
      expect(lines.pop()).toBe('');
      const exported = lines.map((line) => JSON.parse(line) as Entry);
      const current = (await list(t)).items;
      expect(exported).toEqual(current);

      const filtered = await t.http.get('/api/v1/audit/export').query({ entityId: engineerA.id }).set(admin);
      const filteredLines = filtered.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Entry);
      expect(filteredLines.map((entry) => entry.action)).toEqual(['engineer.created', 'engineer.updated']);

      const none = await t.http.get('/api/v1/audit/export').query({ actorSub: 'nobody' }).set(admin);
      expect(none.status).toBe(200);
      expect(none.text).toBe('');
    });
  });

  describe('writes', () => {
    it('keeps nothing of a rolled-back change', async () => {
      const email = `dup-${randomUUID()}@example.com`;
      await createEngineer(t, { email });
      const duplicate = await t.http.post('/api/v1/engineers').set(admin).send({ name: 'Twin', email });
      expect(duplicate.status).toBe(409);
      const created = await list(t, { action: 'engineer.created' });
      expect(created.items.filter((entry) => entry.after?.email === email)).toHaveLength(1);
    });

    it('does not make audit writers wait for each other', async () => {
      const inFlight = await holdWriterGate(t);
      try {
        const started = Date.now();
        await createEngineer(t, { name: 'Concurrent writer' });
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        await inFlight.query('ROLLBACK');
        inFlight.release();
      }
    });

    it('seals and verifies entries written by many parallel requests', async () => {
      const requests = Array.from({ length: 50 }, (_, index) =>
        fetch(`${t.baseUrl}/api/v1/engineers`, {
          method: 'POST',
          headers: { ...admin, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: `Parallel ${index}`, email: `parallel-${index}-${randomUUID()}@example.com` }),
        }),
      );
      // Verifications racing the writers must only ever see a valid chain.
      const verifications = Array.from({ length: 3 }, (_, index) =>
        new Promise((resolve) => setTimeout(resolve, index * 40)).then(() => fetch(`${t.baseUrl}/api/v1/audit/verify`, { headers: admin })),
      );
      const responses = await Promise.all(requests);
      expect(responses.map((res) => res.status)).toEqual(Array(50).fill(201));
      for (const res of await Promise.all(verifications)) expect(await res.json()).toMatchObject({ valid: true, firstInvalidSeq: null });

      await allSealed(t);
      const result = await verify(t);
      const entries = await countRows(t, 'audit_entries');
      expect(result).toEqual({ valid: true, checked: entries, firstInvalidSeq: null, unsealed: 0 });
      expect(await countRows(t, 'audit_seals')).toBe(entries);
    });

    it('seals every entry within 2 s of its commit, and shows its chain hash from then on', async () => {
      const engineer = await createEngineer(t, { name: 'Background seal' });
      const committed = Date.now();
      const entries = await countRows(t, 'audit_entries');
      while ((await countRows(t, 'audit_seals')) < entries && Date.now() - committed < SEALED_WITHIN_MS)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await countRows(t, 'audit_seals')).toBe(entries);
      const [entry] = (await list(t, { entityId: engineer.id })).items;
      const { rows } = await t.sql.query<{ hash: string }>('SELECT hash FROM audit_seals WHERE seq = $1', [entry!.seq]);
      expect(entry!.chainHash).toBe(rows[0]!.hash);
    });

    it('answers the last sealed entry as the head', async () => {
      await createEngineer(t, { name: 'Head' });
      await allSealed(t);
      const res = await t.http.get('/api/v1/audit/head').set(admin);
      expect(res.status).toBe(200);
      const { rows } = await t.sql.query<{ seq: string; hash: string; sealedAt: Date }>(
        'SELECT seq, hash, sealed_at AS "sealedAt" FROM audit_seals ORDER BY seq DESC LIMIT 1',
      );
      expect(res.body).toEqual({ seq: Number(rows[0]!.seq), hash: rows[0]!.hash, sealedAt: rows[0]!.sealedAt.toISOString() });
      const last = (await list(t, { page: 999 })).items.at(-1)!;
      expect([last.seq, last.chainHash]).toEqual([res.body.seq, res.body.hash]);
    });

    it('links across the gaps that rolled-back writes leave in seq', async () => {
      const client = await holdWriterGate(t);
      const { rows } = await client.query<{ seq: string }>(
        `INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id) VALUES ('ghost', '{admin}', 'engineer.created', 'engineer', gen_random_uuid()) RETURNING seq`,
      );
      await client.query('ROLLBACK');
      client.release();
      await createEngineer(t, { name: 'After the gap' });
      await allSealed(t);
      const result = await verify(t);
      expect(result).toEqual({ valid: true, checked: await countRows(t, 'audit_entries'), firstInvalidSeq: null, unsealed: 0 });
      const gap = await t.sql.query('SELECT 1 FROM audit_entries WHERE seq = $1 UNION ALL SELECT 1 FROM audit_seals WHERE seq = $1', [
        rows[0]!.seq,
      ]);
      expect(gap.rowCount).toBe(0);
    });

    it('verifies without writing or sealing anything, counting what is not sealed yet', async () => {
      await allSealed(t);
      // A writer in flight keeps the background sealer from sealing what follows.
      const longWriter = await holdWriterGate(t);
      try {
        await createEngineer(t, { name: 'Behind a long writer' });
        const before = {
          entries: await countRows(t, 'audit_entries'),
          seals: await countRows(t, 'audit_seals'),
          head: (await t.http.get('/api/v1/audit/head').set(admin)).body,
        };
        const started = Date.now();
        const result = await verify(t);
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(result).toEqual({ valid: true, checked: before.seals, firstInvalidSeq: null, unsealed: 1 });
        expect(await countRows(t, 'audit_entries')).toBe(before.entries);
        expect(await countRows(t, 'audit_seals')).toBe(before.seals);
        expect((await t.http.get('/api/v1/audit/head').set(admin)).body).toEqual(before.head);
      } finally {
        await longWriter.query('ROLLBACK');
        longWriter.release();
      }
      await allSealed(t);
      expect(await verify(t)).toMatchObject({ valid: true, unsealed: 0 });
    });
  });

  describe('tamper evidence', () => {
    let target: Entry;

    beforeAll(async () => {
      for (let index = 0; index < 3; index += 1) await createEngineer(t, { name: `Tamper ${index}` });
      await allSealed(t);
      expect((await verify(t)).valid).toBe(true);
      const entries = (await list(t, { pageSize: 100 })).items;
      target = entries[Math.floor(entries.length / 2)]!;
    });

    it('refuses UPDATE and DELETE while the append-only triggers are on', async () => {
      await expect(t.sql.query(`UPDATE audit_entries SET actor_sub = 'mallory' WHERE seq = $1`, [target.seq])).rejects.toThrow(
        /append-only/,
      );
      await expect(t.sql.query('DELETE FROM audit_seals WHERE seq = $1', [target.seq])).rejects.toThrow(/append-only/);
    });

    it('finds an edited entry at its seq', async () => {
      const checkedBefore = (await t.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries WHERE seq < $1', [target.seq]))
        .rows[0]!.n;
      await tamper(t, (sql) =>
        sql.query(`UPDATE audit_entries SET after = jsonb_set(after, '{name}', '"Mallory"') WHERE seq = $1`, [target.seq]),
      );
      try {
        expect(await verify(t)).toEqual({ valid: false, checked: checkedBefore, firstInvalidSeq: target.seq, unsealed: 0 });
      } finally {
        await tamper(t, (sql) =>
          sql.query('UPDATE audit_entries SET after = $2::jsonb WHERE seq = $1', [target.seq, JSON.stringify(target.after)]),
        );
      }
      expect((await verify(t)).valid).toBe(true);
    });

    it('finds a deleted entry at its seq', async () => {
      await tamper(t, async (sql) => {
        await sql.query('CREATE TABLE audit_backup AS SELECT * FROM audit_entries WHERE seq = $1', [target.seq]);
        await sql.query('DELETE FROM audit_entries WHERE seq = $1', [target.seq]);
      });
      try {
        expect(await verify(t)).toMatchObject({ valid: false, firstInvalidSeq: target.seq });
      } finally {
        await t.sql.query('INSERT INTO audit_entries SELECT * FROM audit_backup');
        await t.sql.query('DROP TABLE audit_backup');
      }
      expect((await verify(t)).valid).toBe(true);
    });

    it('finds an entry inserted with an unused seq at or below the sealed head', async () => {
      // A seq the sequence skipped (as a rolled-back write leaves), below entries sealed after it.
      const { rows } = await t.sql.query<{ seq: string }>(`SELECT nextval(pg_get_serial_sequence('audit_entries', 'seq')) AS seq`);
      const unused = Number(rows[0]!.seq);
      await createEngineer(t, { name: 'Sealed above the gap' });
      await allSealed(t);
      expect((await verify(t)).valid).toBe(true);
      await t.sql.query(
        `INSERT INTO audit_entries (seq, actor_sub, actor_roles, action, entity_type, entity_id, after)
         VALUES ($1, 'admin-1', '{admin}', 'engineer.deleted', 'engineer', $2, '{}'::jsonb)`,
        [unused, target.entityId],
      );
      try {
        expect(await verify(t)).toMatchObject({ valid: false, firstInvalidSeq: unused });
      } finally {
        await tamper(t, (sql) => sql.query('DELETE FROM audit_entries WHERE seq = $1', [unused]));
      }
      expect((await verify(t)).valid).toBe(true);
    });

    it('cannot tell an unkeyed chain recomputed by an attacker from the original (what AUDIT_HMAC_KEY is for)', async () => {
      await rewriteAsAttacker(t, target.seq);
      expect(await verify(t)).toMatchObject({ valid: true, firstInvalidSeq: null });
    });

    it('finds a rewritten seal at its seq', async () => {
      const { rows } = await t.sql.query<{ hash: string }>('SELECT hash FROM audit_seals WHERE seq = $1', [target.seq]);
      await tamper(t, (sql) => sql.query(`UPDATE audit_seals SET hash = repeat('f', 64) WHERE seq = $1`, [target.seq]));
      try {
        expect(await verify(t)).toMatchObject({ valid: false, firstInvalidSeq: target.seq });
      } finally {
        await tamper(t, (sql) => sql.query('UPDATE audit_seals SET hash = $2 WHERE seq = $1', [target.seq, rows[0]!.hash]));
      }
      expect((await verify(t)).valid).toBe(true);
    });
  });
});

const AUDIT_KEY = 'an audit chain key of at least 32 characters';
const NEXT_AUDIT_KEY = 'the audit chain key that replaces the first one';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run audit:verify -- …` as an auditor runs it, without the service. */
function auditVerifyCli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  const root = path.resolve(import.meta.dirname, '../..');
  const childEnv = { ...process.env, ...env };
  if (env.AUDIT_HMAC_KEY === undefined) delete childEnv.AUDIT_HMAC_KEY;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', '@swc-node/register/esm-register', 'tools/audit-verify.ts', ...args],
      { cwd: root, env: childEnv },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('Keyed audit chain', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp({ AUDIT_HMAC_KEY: AUDIT_KEY });
    dir = mkdtempSync(path.join(tmpdir(), 'ers-audit-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function exportLines(): Promise<string[]> {
    const res = await t.http.get('/api/v1/audit/export').set(admin);
    expect(res.status).toBe(200);
    return res.text.trim().split('\n');
  }

  function exportFile(name: string, lines: string[]): string {
    const file = path.join(dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }

  it('answers a head of nulls while nothing is sealed', async () => {
    expect((await t.http.get('/api/v1/audit/head').set(admin)).body).toEqual({ seq: null, hash: null, sealedAt: null });
  });

  it('seals with HMAC-SHA256 under AUDIT_HMAC_KEY', async () => {
    for (let index = 0; index < 4; index += 1) await createEngineer(t, { name: `Keyed ${index}` });
    await allSealed(t);
    const [first] = await storedEntries(t);
    const { rows } = await t.sql.query<{ hash: string }>('SELECT hash FROM audit_seals WHERE seq = $1', [first!.seq.toString()]);
    expect(rows[0]!.hash).toBe(
      createHmac('sha256', AUDIT_KEY)
        .update(GENESIS_HASH + canonicalEntry(first!))
        .digest('hex'),
    );
    expect(await verify(t)).toEqual({ valid: true, checked: await countRows(t, 'audit_entries'), firstInvalidSeq: null, unsealed: 0 });
  });

  describe('offline verification of an export', () => {
    let lines: string[];
    let head: { seq: number; hash: string };
    beforeAll(async () => {
      for (let index = 0; index < 4; index += 1) await createEngineer(t, { name: `Offline ${index}` });
      await allSealed(t);
      lines = await exportLines();
      head = (await t.http.get('/api/v1/audit/head').set(admin)).body;
    });
    const seqOf = (line: string): number => (JSON.parse(line) as Entry).seq;

    it('accepts an untouched export with its head, and only with the key', async () => {
      const file = exportFile('untouched.ndjson', lines);
      const valid = await auditVerifyCli([file, '--head', head.hash], { AUDIT_HMAC_KEY: AUDIT_KEY });
      expect(valid, valid.stderr).toMatchObject({ code: 0 });
      expect(valid.stdout).toContain(`${lines.length} sealed entries checked`);
      const unkeyed = await auditVerifyCli([file], { AUDIT_HMAC_KEY: undefined });
      expect(unkeyed.code).toBe(1);
      expect(unkeyed.stderr).toContain(`seq ${seqOf(lines[0]!)}:`);
    });

    it('names the seq of an edited line', async () => {
      const edited = [...lines];
      edited[2] = JSON.stringify({ ...(JSON.parse(lines[2]!) as Entry), actorSub: 'mallory' });
      const result = await auditVerifyCli([exportFile('edited.ndjson', edited)], { AUDIT_HMAC_KEY: AUDIT_KEY });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^invalid: seq ${seqOf(lines[2]!)}:`));
    });

    it('names the seq after a removed line', async () => {
      const removed = lines.filter((_, index) => index !== 1);
      const result = await auditVerifyCli([exportFile('removed.ndjson', removed)], { AUDIT_HMAC_KEY: AUDIT_KEY });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^invalid: seq ${seqOf(lines[2]!)}:`));
    });

    it('checks nothing from an unsealed line on, so an anchored head after it is not found', async () => {
      const unsealed = [...lines];
      unsealed[1] = JSON.stringify({ ...(JSON.parse(lines[1]!) as Entry), chainHash: null });
      const file = exportFile('unsealed.ndjson', unsealed);
      const partial = await auditVerifyCli([file], { AUDIT_HMAC_KEY: AUDIT_KEY });
      expect(partial, partial.stderr).toMatchObject({ code: 0 });
      expect(partial.stdout).toContain(
        `1 sealed entries checked, up to seq ${seqOf(lines[0]!)}; ${lines.length - 1} entries from the first unsealed one on not checked`,
      );
      expect((await auditVerifyCli([file, '--head', head.hash], { AUDIT_HMAC_KEY: AUDIT_KEY })).code).toBe(1);
    });

    it('refuses a forged head, and a head cut off the export', async () => {
      const forged = await auditVerifyCli([exportFile('forged.ndjson', lines), '--head', 'f'.repeat(64)], { AUDIT_HMAC_KEY: AUDIT_KEY });
      expect(forged.code).toBe(1);
      expect(forged.stderr).toContain(`checked up to seq ${head.seq}`);
      const truncated = await auditVerifyCli([exportFile('truncated.ndjson', lines.slice(0, -1)), '--head', head.hash], {
        AUDIT_HMAC_KEY: AUDIT_KEY,
      });
      expect(truncated.code).toBe(1);
      expect(truncated.stderr).toContain(`checked up to seq ${seqOf(lines.at(-2)!)}`);
    });
  });

  it('finds an entry edited and re-chained by an attacker without the key', async () => {
    const entries = (await list(t)).items;
    const target = entries[2]!;
    const { rows: seals } = await t.sql.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_seals WHERE seq >= $1', [
      target.seq,
    ]);
    await rewriteAsAttacker(t, target.seq);
    try {
      expect(await verify(t)).toEqual({
        valid: false,
        checked: entries.filter((entry) => entry.seq < target.seq).length,
        firstInvalidSeq: target.seq,
        unsealed: 0,
      });
    } finally {
      await tamper(t, async (sql) => {
        await sql.query('UPDATE audit_entries SET after = $2::jsonb WHERE seq = $1', [target.seq, JSON.stringify(target.after)]);
        for (const seal of seals) await sql.query('UPDATE audit_seals SET hash = $2 WHERE seq = $1', [seal.seq, seal.hash]);
      });
    }
    expect((await verify(t)).valid).toBe(true);
  });

  it('is sealed into one chain by several replicas writing and sealing at once', async () => {
    const replica = await startAppOn(t.databaseName, t.sql, { AUDIT_HMAC_KEY: AUDIT_KEY });
    try {
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          fetch(`${(index % 2 === 0 ? t : replica).baseUrl}/api/v1/engineers`, {
            method: 'POST',
            headers: { ...admin, 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: `Replica ${index}`, email: `replica-${index}-${randomUUID()}@example.com` }),
          }),
        ),
      );
      expect(responses.map((res) => res.status)).toEqual(Array(40).fill(201));
      await allSealed(t);
      const total = await countRows(t, 'audit_entries');
      expect(await verify(t)).toEqual({ valid: true, checked: total, firstInvalidSeq: null, unsealed: 0 });
      expect(await verify(replica)).toEqual({ valid: true, checked: total, firstInvalidSeq: null, unsealed: 0 });
    } finally {
      await replica.close();
    }
  });

  it('keeps verifying across a rolling key rotation, and a replica left on the old key pauses sealing once the new key has sealed', async () => {
    // Its own database: the rollout replaces replicas one by one, which the suite's shared app cannot.
    const databaseName = await cloneTemplate(inject('templateDatabase'));
    const sql = testPool(databaseName, 2);
    const replicas: TestApp[] = [];
    const startReplica = async (env: Record<string, string>): Promise<TestApp> => {
      const replica = await startAppOn(databaseName, sql, env);
      replicas.push(replica);
      return replica;
    };
    /** Whether the newest seal was made with the new key. */
    const headSealedWithNextKey = async (on: TestApp): Promise<boolean> => {
      const [last] = (await storedEntries(on)).slice(-1);
      const { rows } = await sql.query<{ hash: string }>('SELECT hash FROM audit_seals WHERE seq < $1 ORDER BY seq DESC LIMIT 1', [
        last!.seq.toString(),
      ]);
      const { rows: head } = await sql.query<{ hash: string }>('SELECT hash FROM audit_seals WHERE seq = $1', [last!.seq.toString()]);
      return head[0]!.hash === chainHash(rows[0]?.hash ?? GENESIS_HASH, last!, NEXT_AUDIT_KEY);
    };
    const oldKey = { AUDIT_HMAC_KEY: AUDIT_KEY };
    const rotatedKeys = { AUDIT_HMAC_KEY: `${NEXT_AUDIT_KEY},${AUDIT_KEY}` };
    try {
      const old = await startReplica(oldKey);
      await createEngineer(old, { name: 'Before rotation' });
      await allSealed(old);

      // Mid-rollout both keys are live and both replicas race to seal: the chain stays one chain.
      const rotated = await startReplica(rotatedKeys);
      for (let index = 0; index < 4; index += 1)
        await createEngineer(index % 2 === 0 ? old : rotated, { name: `During rotation ${index}` });
      await allSealed(rotated);

      await old.close();
      await createEngineer(rotated, { name: 'After rotation' });
      await allSealed(rotated);
      expect(await headSealedWithNextKey(rotated)).toBe(true);

      // A replica still on the old key (a straggler, a rollback) pauses rather than chain the old key after the new one.
      await rotated.close();
      const straggler = await startReplica(oldKey);
      await createEngineer(straggler, { name: 'Straggler write' });
      await new Promise((resolve) => setTimeout(resolve, SEALED_WITHIN_MS + 1_000));
      expect(await countRows(straggler, 'audit_seals')).toBe((await countRows(straggler, 'audit_entries')) - 1);

      const resumed = await startReplica(rotatedKeys);
      await allSealed(resumed);
      expect(await headSealedWithNextKey(resumed)).toBe(true);
      const total = await countRows(resumed, 'audit_entries');
      expect(await verify(resumed)).toEqual({ valid: true, checked: total, firstInvalidSeq: null, unsealed: 0 });
      // The old configuration cannot check what the new key sealed.
      expect((await verify(straggler)).valid).toBe(false);
    } finally {
      for (const replica of replicas) await replica.close();
      await sql.end();
      await dropDatabase(databaseName);
    }
  }, 180_000);
});

describe('Audit export at volume', () => {
  const ENTRIES = 100_000;
  const HEAP_GROWTH_LIMIT = 64 * 1024 * 1024;
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    const engineer = await createEngineer(t);
    const client = await holdWriterGate(t);
    try {
      await client.query(
        `INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, after, request_id)
         SELECT 'admin-1', '{admin}', 'engineer.created', 'engineer', gen_random_uuid(), $1::jsonb || jsonb_build_object('name', 'Bulk ' || n), 'bulk-' || n
         FROM generate_series(1, $2) AS n`,
        [JSON.stringify(engineer), ENTRIES],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  });
  afterAll(async () => t.close());

  it('streams 100 000 entries in seq order with bounded memory', async () => {
    // Heap in use only says what is retained right after a full collection; V8 collects lazily otherwise.
    v8.setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const liveHeap = (): number => {
      collectGarbage();
      return process.memoryUsage().heapUsed;
    };
    const baseline = { live: liveHeap(), rss: process.memoryUsage().rss };
    let peakLive = baseline.live;
    let peakRss = baseline.rss;
    const sampler = setInterval(() => {
      peakLive = Math.max(peakLive, liveHeap());
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 1_000);
    const started = performance.now();
    let lines = 0;
    let ordered = true;
    let lastSeq = 0;
    let pending = '';
    try {
      const res = await fetch(`${t.baseUrl}/api/v1/audit/export`, { headers: admin });
      expect(res.status).toBe(200);
      const decoder = new TextDecoder();
      for await (const chunk of res.body!) {
        const text = pending + decoder.decode(chunk as Uint8Array, { stream: true });
        let lineStart = 0;
        for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', lineStart)) {
          const seq = Number(/"seq":(\d+)/.exec(text.slice(lineStart, newline))![1]);
          ordered &&= seq > lastSeq;
          lastSeq = seq;
          lines += 1;
          lineStart = newline + 1;
        }
        pending = text.slice(lineStart);
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    expect(pending).toBe('');
    expect(ordered).toBe(true);
    expect(lines).toBe(await countRows(t, 'audit_entries'));
    expect(lines).toBeGreaterThan(ENTRIES);
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    console.log(
      `audit export: ${lines} entries in ${seconds.toFixed(1)} s (${Math.round(lines / seconds)}/s); live heap ${mib(baseline.live)} -> peak ${mib(peakLive)} MiB ` +
        `(+${mib(peakLive - baseline.live)}), rss ${mib(baseline.rss)} -> peak ${mib(peakRss)} MiB (+${mib(peakRss - baseline.rss)})`,
    );
    expect(peakLive - baseline.live).toBeLessThan(HEAP_GROWTH_LIMIT);
    // What is asserted is order and memory; the time (15 s on a quiet machine) only bounds a hang.
  }, 300_000);
});
