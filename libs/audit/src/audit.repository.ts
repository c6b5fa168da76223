import { Injectable } from '@nestjs/common';

import { col, columns, joined, Prisma, PrismaService, type Tx } from '@app/database';

import {
  AUDIT_ENTITY_TYPES,
  AUDIT_SEAL_LOCK_KEY,
  AUDIT_SEALER_LOCK_KEY,
  type AuditActor,
  type AuditFilter,
  type AuditRecord,
  type AuditSeal,
  type SealedHead,
} from './audit.types.js';
import type { SealedAuditEntry, StoredAuditEntry } from './audit-chain.js';

type Db = Tx | PrismaService;

/** An audit entry as stored: the one declaration of its select list and row type (StoredAuditEntry). */
const ENTRY_COLUMNS = columns('audit_entries', 'a', {
  id: col.uuid('id'),
  seq: col.bigint('seq'),
  occurredAt: col.timestamptz('occurred_at'),
  actorSub: col.text('actor_sub'),
  actorRoles: col.textArray('actor_roles').nullable(),
  action: col.enum<string>('action', 'audit_action'),
  entityType: col.enum<string>('entity_type', 'audit_entity_type'),
  entityId: col.uuid('entity_id'),
  before: col.jsonb('before').nullable(),
  after: col.jsonb('after').nullable(),
  requestId: col.text('request_id').nullable(),
});
const COLUMNS = ENTRY_COLUMNS.select;
/** The seal of a listed entry, null while it is unsealed (a LEFT JOIN). */
const ENTRY_SEAL_COLUMNS = columns('audit_seals', 's', { chainHash: col.text('hash').nullable() });
/** Entries as listed and exported: with their seal's hash. */
const SEALED_ENTRY_COLUMNS = joined(ENTRY_COLUMNS, ENTRY_SEAL_COLUMNS);
const WITH_SEALS = Prisma.sql`audit_entries a LEFT JOIN audit_seals s ON s.seq = a.seq`;
const SEAL_COLUMNS = columns('audit_seals', 'a', { seq: col.bigint('seq'), hash: col.text('hash') });
const HEAD_COLUMNS = columns('audit_seals', 'h', {
  seq: col.bigint('seq'),
  hash: col.text('hash'),
  sealedAt: col.timestamptz('sealed_at'),
});

/** The only code that reads or writes audit_entries and audit_seals. */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Appends entries inside the caller's transaction: they commit or roll back with the change. The
   * shared lock is taken before the sequence hands out a seq, and held until the transaction ends.
   */
  async append(tx: Tx, actor: AuditActor, records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await tx.$executeRaw(this.appendStep(actor, records));
  }

  /**
   * The INSERT of `append`, as a step of a combined statement (runSteps). The seal gate is taken
   * (shared) before the first row draws its seq: the row cannot be produced without the gate's.
   */
  appendStep(actor: AuditActor, records: AuditRecord[]): Prisma.Sql {
    const rows = records.map(
      (record) => Prisma.sql`(${actor.sub}, ${actor.roles}::text[], ${record.action}::audit_action, ${record.entityType}::audit_entity_type,
        ${record.entityId}::uuid, ${json(record.before)}::jsonb, ${json(record.after)}::jsonb, ${actor.requestId})`,
    );
    return Prisma.sql`
      INSERT INTO audit_entries (actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)
      SELECT v.* FROM (SELECT pg_advisory_xact_lock_shared(${AUDIT_SEAL_LOCK_KEY}::bigint)) AS seal_gate,
        (VALUES ${Prisma.join(rows)}) AS v(actor_sub, actor_roles, action, entity_type, entity_id, before, after, request_id)`;
  }

  /**
   * Waits, at most `lockTimeoutMs`, until no transaction holds the writers' shared lock, then keeps
   * new writers out until `tx` ends. Past the timeout PostgreSQL raises lock_not_available (55P03).
   */
  async excludeWriters(tx: Tx, lockTimeoutMs: number): Promise<void> {
    await tx.$executeRaw`SELECT set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_SEAL_LOCK_KEY}::bigint)`;
  }

  /**
   * The highest seq the sequence has handed out (0 when none). Read under excludeWriters it is the
   * watermark: every seq up to it belongs to a finished transaction. Read without it, only a hint.
   */
  async lastAllocatedSeq(db: Db = this.prisma): Promise<bigint> {
    const [row] = await db.$queryRaw<{ last: bigint | null }[]>`
      SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_entries', 'seq')::regclass) AS last`;
    return row?.last ?? 0n;
  }

  async lockSealer(tx: Tx): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_SEALER_LOCK_KEY}::bigint)`;
  }

  async tryLockSealer(tx: Tx): Promise<boolean> {
    const [row] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${AUDIT_SEALER_LOCK_KEY}::bigint) AS locked`;
    return row?.locked ?? false;
  }

  async sealedHead(db: Db = this.prisma): Promise<SealedHead | undefined> {
    const [row] = await HEAD_COLUMNS.query(db, Prisma.sql`SELECT ${HEAD_COLUMNS.select} FROM audit_seals h ORDER BY h.seq DESC LIMIT 1`);
    return row;
  }

  /** The entry at `seq` and the hash of the seal before it (null for the first): the input of its seal. */
  async sealInput(tx: Tx, seq: bigint): Promise<{ entry: StoredAuditEntry; previousHash: string | null } | undefined> {
    const [row] = await ENTRY_COLUMNS.queryWith<{ previousHash: string | null }>(
      tx,
      Prisma.sql`SELECT ${COLUMNS}, (SELECT p.hash FROM audit_seals p WHERE p.seq < a.seq ORDER BY p.seq DESC LIMIT 1) AS "previousHash"
      FROM audit_entries a WHERE a.seq = ${seq}`,
    );
    if (!row) return undefined;
    const { previousHash, ...entry } = row;
    return { entry, previousHash };
  }

  /** Entries not sealed yet: those above the sealed head (all of them when nothing is sealed). */
  async countAbove(seq: bigint | null): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_entries WHERE seq > ${seq ?? 0n}`;
    return row?.n ?? 0;
  }

  /** Entries with after < seq <= upTo (after null: from the first), ascending. */
  async entriesBetween(after: bigint | null, upTo: bigint, limit: number, db: Db = this.prisma): Promise<StoredAuditEntry[]> {
    return ENTRY_COLUMNS.query(
      db,
      Prisma.sql`SELECT ${COLUMNS} FROM audit_entries a WHERE ${seqRange(after, upTo)} ORDER BY a.seq LIMIT ${limit}`,
    );
  }

  /** Seals with after < seq <= upTo (after null: from the first), ascending. */
  async sealsBetween(after: bigint | null, upTo: bigint, limit: number): Promise<AuditSeal[]> {
    return SEAL_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${SEAL_COLUMNS.select} FROM audit_seals a WHERE ${seqRange(after, upTo)} ORDER BY a.seq LIMIT ${limit}`,
    );
  }

  async insertSeals(tx: Tx, seals: AuditSeal[]): Promise<void> {
    if (seals.length === 0) return;
    await tx.$executeRaw`
      INSERT INTO audit_seals (seq, hash)
      SELECT * FROM unnest(${seals.map((seal) => seal.seq.toString())}::text[]::bigint[], ${seals.map((seal) => seal.hash)}::text[])`;
  }

  async countMatching(filter: AuditFilter): Promise<number> {
    const [row] = await this.prisma.$queryRaw<
      { total: number }[]
    >`SELECT count(*)::int AS total FROM audit_entries a WHERE ${where(filter)}`;
    return row?.total ?? 0;
  }

  async listMatching(filter: AuditFilter, offset: number, limit: number): Promise<SealedAuditEntry[]> {
    return SEALED_ENTRY_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${SEALED_ENTRY_COLUMNS.select} FROM ${WITH_SEALS} WHERE ${where(filter)} ORDER BY a.seq OFFSET ${offset} LIMIT ${limit}`,
    );
  }

  /** One keyset page of matching entries with after < seq <= upTo (after null: from the first), ascending. */
  async matchingBetween(filter: AuditFilter, after: bigint | null, upTo: bigint, limit: number): Promise<SealedAuditEntry[]> {
    return SEALED_ENTRY_COLUMNS.query(
      this.prisma,
      Prisma.sql`SELECT ${SEALED_ENTRY_COLUMNS.select} FROM ${WITH_SEALS} WHERE ${where(filter)} AND ${seqRange(after, upTo)} ORDER BY a.seq LIMIT ${limit}`,
    );
  }

  async maxSeq(): Promise<bigint> {
    const [row] = await this.prisma.$queryRaw<{ max: bigint | null }[]>`SELECT max(seq) AS max FROM audit_entries`;
    return row?.max ?? 0n;
  }
}

function json(value: object | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

function seqRange(after: bigint | null, upTo: bigint): Prisma.Sql {
  return after === null ? Prisma.sql`a.seq <= ${upTo}` : Prisma.sql`a.seq > ${after} AND a.seq <= ${upTo}`;
}

function where(filter: AuditFilter): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (filter.entityType) conditions.push(Prisma.sql`a.entity_type = ${filter.entityType}::audit_entity_type`);
  // Naming every type lets an entityId alone use the (entity_type, entity_id, seq) index: one descent per type.
  else if (filter.entityId) conditions.push(Prisma.sql`a.entity_type = ANY(${[...AUDIT_ENTITY_TYPES]}::audit_entity_type[])`);
  if (filter.entityId) conditions.push(Prisma.sql`a.entity_id = ${filter.entityId}::uuid`);
  if (filter.actorSub !== undefined) conditions.push(Prisma.sql`a.actor_sub = ${filter.actorSub}`);
  if (filter.action) conditions.push(Prisma.sql`a.action = ${filter.action}::audit_action`);
  if (filter.from) conditions.push(Prisma.sql`a.occurred_at >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to) conditions.push(Prisma.sql`a.occurred_at <= ${filter.to.toISOString()}::timestamptz`);
  return conditions.length ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`;
}
