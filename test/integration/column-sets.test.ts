import '@app/audit';
import '@app/http';
import '@app/reviews';
import '@app/webhooks';

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { type AnyColumnSet, col, columns, declaredColumnSets, Prisma } from '@app/database';

import { cloneTemplate, dropDatabase, testPool } from '../support/database.js';

interface DatabaseColumn {
  table: string;
  column: string;
  type: string;
  isEnum: boolean;
  notNull: boolean;
}

/** What is wrong with a column set against the live schema: one line per problem, none when it matches. */
async function mismatches(sql: pg.Pool, sets: readonly AnyColumnSet[]): Promise<string[]> {
  const { rows } = await sql.query<DatabaseColumn>(`
    SELECT c.relname AS "table", a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS type, t.typtype = 'e' AS "isEnum", a.attnotnull AS "notNull"
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`);
  const schema = new Map(rows.map((row) => [`${row.table}.${row.column}`, row]));
  const problems: string[] = [];
  for (const set of sets) {
    for (const [field, declared] of Object.entries(set.fields)) {
      if (declared.kind !== 'column') continue;
      const name = `${set.table}.${declared.column} (${field})`;
      const actual = schema.get(`${set.table}.${declared.column}`);
      if (!actual) {
        problems.push(`${name}: no such column`);
        continue;
      }
      const type = actual.isEnum ? `enum:${actual.type}` : actual.type;
      if (type !== declared.pgType) problems.push(`${name}: declared ${declared.pgType}, the database has ${type}`);
      // A nullable field over a NOT NULL column is safe (outer joins); the reverse is not, except for
      // arrays, which Prisma declares nullable and never writes NULL to.
      if (!actual.notNull && !declared.allowsNull && !actual.type.endsWith('[]'))
        problems.push(`${name}: declared NOT NULL, the database allows NULL`);
    }
    // The select list itself (computed fields included) must run.
    try {
      expect(set.select.values).toEqual([]);
      await sql.query(`SELECT ${set.select.sql} FROM ${set.table} ${set.alias} LIMIT 0`);
    } catch (error) {
      problems.push(`${set.table} ${set.alias}: select list does not run: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** The sets the libraries declare (taken before this file declares drifted ones of its own). */
const declared = [...declaredColumnSets()];

describe('column sets against the schema', () => {
  let databaseName: string;
  let sql: pg.Pool;
  beforeAll(async () => {
    databaseName = await cloneTemplate(inject('templateDatabase'));
    sql = testPool(databaseName, 2);
  });
  afterAll(async () => {
    await sql.end();
    await dropDatabase(databaseName);
  });

  it('cover the tables the repositories read with raw queries', () => {
    const tables = new Set(declared.map((set) => set.table));
    expect([...tables].sort()).toEqual(
      expect.arrayContaining([
        'audit_entries',
        'audit_seals',
        'engineers',
        'idempotency_records',
        'incidents',
        'review_events',
        'review_votes',
        'reviews',
        'webhook_events',
      ]),
    );
  });

  it('name only columns that exist, with the type and nullability the database has', async () => {
    expect(await mismatches(sql, declared)).toEqual([]);
  });

  it('fail on a column that does not exist, a type that differs, a nullable column read as NOT NULL, or a select that does not run', async () => {
    const drifted = [
      columns('engineers', 'e', { name: col.text('full_name') }),
      columns('engineers', 'e', { capacity: col.bigint('max_concurrent_reviews') }),
      columns('engineers', 'e', { lastAssignedAt: col.timestamptz('last_assigned_at') }),
      columns('engineers', 'e', { status: col.enum('status', 'review_status') }),
      columns('engineers', 'e', { ratio: col.computed<number>((e) => Prisma.sql`${Prisma.raw(e)}.capacity / 2`) }),
    ] as unknown as readonly AnyColumnSet[];
    const problems = await mismatches(sql, drifted);
    expect(problems).toEqual([
      'engineers.full_name (name): no such column',
      expect.stringMatching(/^engineers e: select list does not run/),
      'engineers.max_concurrent_reviews (capacity): declared bigint, the database has integer',
      'engineers.last_assigned_at (lastAssignedAt): declared NOT NULL, the database allows NULL',
      'engineers.status (status): declared enum:review_status, the database has enum:engineer_status',
      expect.stringMatching(/^engineers e: select list does not run: .*capacity/),
    ]);
  });
});
