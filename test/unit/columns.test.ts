import { describe, expect, it } from 'vitest';

import { col, columns, expectOne, MissingRowError, Prisma } from '@app/database';

describe('a column set', () => {
  const set = columns('engineers', 'e', {
    id: col.uuid('id'),
    name: col.text('name'),
    escalation: col.smallint('escalation_level'),
    deletedAt: col.timestamptz('deleted_at').nullable(),
    ratio: col.computed<number>((e) => Prisma.sql`${Prisma.raw(e)}.current_review_count::float8`),
  });

  it('derives the select list from the declaration: each field under its own name, uuid as text, smallint as int', () => {
    expect(set.select.sql).toBe(
      'e."id"::text AS "id", e."name" AS "name", e."escalation_level"::int AS "escalation", e."deleted_at" AS "deletedAt", e.current_review_count::float8 AS "ratio"',
    );
    expect(set.select.values).toEqual([]);
  });

  it('records the PostgreSQL type and nullability the schema test compares', () => {
    expect(set.fields.deletedAt).toMatchObject({
      kind: 'column',
      column: 'deleted_at',
      pgType: 'timestamp(3) with time zone',
      allowsNull: true,
    });
    expect(set.fields.name).toMatchObject({ pgType: 'text', allowsNull: false });
    expect(columns('incidents', 'i', { status: col.enum<'detected'>('status', 'incident_status') }).fields.status.pgType).toBe(
      'enum:incident_status',
    );
  });
});

describe('expectOne', () => {
  it('returns the first row', () => {
    expect(expectOne([{ id: 1 }, { id: 2 }], 'a row')).toEqual({ id: 1 });
  });

  it('names what was missing instead of returning undefined', () => {
    expect(() => expectOne([], 'engineer 42 after its update')).toThrow(MissingRowError);
    expect(() => expectOne([], 'engineer 42 after its update')).toThrow('Expected engineer 42 after its update, found no row');
  });
});
