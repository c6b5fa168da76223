import { Prisma } from './generated/prisma/client.js';
import type { Tx } from './transaction-runner.js';

/**
 * Row types of raw queries, declared once. A column set names, for each field of a row, the table
 * column it comes from and that column's PostgreSQL type; the SELECT/RETURNING list (`select`) and
 * the TypeScript row type (`RowOf`) are both derived from it, so they cannot drift apart, and
 * test/integration/column-sets.test.ts compares every set with the live schema (pg_attribute):
 * a column that does not exist, or whose type or nullability differs, fails it.
 *
 * The field type follows from the PostgreSQL type as node-postgres returns it through the Prisma
 * adapter: uuid and enums are selected as text, smallint as int (number), bigint stays bigint,
 * timestamptz is a Date, jsonb is parsed. Array columns are nullable in PostgreSQL but never NULL
 * (Prisma's list convention, and no write here sets NULL): a non-null array field is accepted.
 */

/** The PostgreSQL types a column set can declare, as `format_type` spells them, and how each is read. */
interface PgTypes {
  uuid: string;
  text: string;
  'text[]': string[];
  integer: number;
  smallint: number;
  bigint: bigint;
  'double precision': number;
  boolean: boolean;
  'timestamp(3) with time zone': Date;
  jsonb: unknown;
}

export type PgTypeName = keyof PgTypes | `enum:${string}`;

/** A table column read into a row field of type T. */
export interface Column<T> {
  readonly kind: 'column';
  readonly column: string;
  /** `format_type` of the column in PostgreSQL (for an enum: its type name). */
  readonly pgType: string;
  readonly allowsNull: boolean;
  readonly select: (alias: string) => Prisma.Sql;
  /** Type carrier only: never set. */
  readonly type?: T;
}

/** A field computed from the row by an SQL expression (checked by running it, not against pg_attribute). */
export interface Computed<T> {
  readonly kind: 'computed';
  readonly expression: (alias: string) => Prisma.Sql;
  readonly type?: T;
}

export type Field<T> = Column<T> | Computed<T>;

export interface NotNullColumn<T> extends Column<T> {
  /** The same column, NULL allowed (the field is `T | null`). */
  nullable(): Column<T | null>;
}

const CASTS: Partial<Record<string, string>> = { uuid: '::text', smallint: '::int' };

function build<T>(column: string, pgType: string, cast: string, allowsNull: boolean): Column<T> {
  return {
    kind: 'column',
    column,
    pgType,
    allowsNull,
    select: (alias) => Prisma.raw(`${alias}.${quoteIdentifier(column)}${cast}`),
  };
}

function declare<T>(pgType: string, cast: string): (column: string) => NotNullColumn<T> {
  return (column) => ({ ...build<T>(column, pgType, cast, false), nullable: () => build<T | null>(column, pgType, cast, true) });
}

const of = <K extends keyof PgTypes>(pgType: K) => declare<PgTypes[K]>(pgType, CASTS[pgType] ?? '');

/** Column declarations by PostgreSQL type; `.nullable()` for a column without NOT NULL. */
export const col = {
  uuid: of('uuid'),
  text: of('text'),
  textArray: of('text[]'),
  integer: of('integer'),
  smallint: of('smallint'),
  bigint: of('bigint'),
  float8: of('double precision'),
  boolean: of('boolean'),
  timestamptz: of('timestamp(3) with time zone'),
  jsonb: <T = unknown>(column: string) => declare<T>('jsonb', '')(column),
  /** A PostgreSQL enum (`pgEnum` its type name), read as text into the union T. */
  enum: <T extends string>(column: string, pgEnum: string) => declare<T>(`enum:${pgEnum}`, '::text')(column),
  /** An SQL expression over the row, `alias` its table alias. */
  computed: <T>(expression: (alias: string) => Prisma.Sql): Computed<T> => ({ kind: 'computed', expression }),
};

export type Fields = Record<string, Field<unknown>>;

/** A column set of any row type (what the schema test walks). */
export type AnyColumnSet = ColumnSet<Fields>;

/** The row type a column set reads. */
export type RowOf<S> = S extends ColumnSet<infer F> ? { -readonly [K in keyof F]: FieldType<F[K]> } : never;

type FieldType<F> = F extends { readonly type?: infer T } ? T : never;

export interface ColumnSet<F extends Fields> {
  readonly table: string;
  readonly alias: string;
  readonly fields: F;
  /** `alias.column AS "field", …`: the SELECT or RETURNING list of this row type. */
  readonly select: Prisma.Sql;
  /** Runs a query whose select list is `select`: the one place its rows are typed. */
  query(db: Tx, sql: Prisma.Sql): Promise<RowOf<ColumnSet<F>>[]>;
  /**
   * The same, for a query that adds scalars after `select` which depend on its parameters (a count,
   * a rank, a subquery): `X` types those additions only, and they are not checked against the schema.
   */
  queryWith<X extends Record<string, unknown>>(db: Tx, sql: Prisma.Sql): Promise<(RowOf<ColumnSet<F>> & X)[]>;
  /**
   * For a statement that returns several row types side by side: the fields of this set as the
   * named subquery or CTE `source` returns them (it selected `select`), renamed `"prefix.field"`.
   */
  selectFrom(source: string, prefix: string): Prisma.Sql;
  /** This set's row out of a side-by-side row (`selectFrom`), undefined when `source` had no row. */
  pick(row: Record<string, unknown>, prefix: string): RowOf<ColumnSet<F>> | undefined;
}

const registry: AnyColumnSet[] = [];

/**
 * Declares the row type of `table` read under `alias` (the alias the queries use, e.g. `r` in
 * `FROM reviews r` or `UPDATE reviews AS r`). Every set is registered for the schema test.
 */
export function columns<F extends Fields>(table: string, alias: string, fields: F): ColumnSet<F> {
  const list = Object.entries(fields).map(([name, field]) =>
    field.kind === 'column'
      ? Prisma.sql`${field.select(alias)} AS ${Prisma.raw(quoteIdentifier(name))}`
      : Prisma.sql`${field.expression(alias)} AS ${Prisma.raw(quoteIdentifier(name))}`,
  );
  const names = Object.keys(fields);
  // Both are asked for on every request with the same few sources and prefixes: built once each.
  const selectLists = new Map<string, Prisma.Sql>();
  const prefixedNames = new Map<string, readonly (readonly [field: string, prefixed: string])[]>();
  const set: ColumnSet<F> = {
    table,
    alias,
    fields,
    select: Prisma.join(list, ', '),
    query: (db, sql) => db.$queryRaw<RowOf<ColumnSet<F>>[]>(sql),
    queryWith: <X extends Record<string, unknown>>(db: Tx, sql: Prisma.Sql) => db.$queryRaw<(RowOf<ColumnSet<F>> & X)[]>(sql),
    selectFrom: (source, prefix) => {
      const key = `${source}\0${prefix}`;
      let selectList = selectLists.get(key);
      if (selectList === undefined) {
        selectList = Prisma.raw(
          names.map((name) => `${quoteIdentifier(source)}.${quoteIdentifier(name)} AS ${quoteIdentifier(`${prefix}.${name}`)}`).join(', '),
        );
        selectLists.set(key, selectList);
      }
      return selectList;
    },
    pick: (row, prefix) => {
      let pairs = prefixedNames.get(prefix);
      if (pairs === undefined) {
        pairs = names.map((name) => [name, `${prefix}.${name}`] as const);
        prefixedNames.set(prefix, pairs);
      }
      const picked: Record<string, unknown> = {};
      // A source without a row (outer-joined) reads NULL in every field; a real row has a NOT NULL key.
      let empty = true;
      for (const [name, prefixed] of pairs) {
        const value = row[prefixed];
        picked[name] = value;
        if (value !== null && value !== undefined) empty = false;
      }
      return empty ? undefined : (picked as RowOf<ColumnSet<F>>);
    },
  };
  registry.push(set as unknown as AnyColumnSet);
  return set;
}

/** Two column sets read together from a join (`a.select, b.select`): rows carry the fields of both. */
export function joined<A extends Fields, B extends Fields>(
  a: ColumnSet<A>,
  b: ColumnSet<B>,
): { select: Prisma.Sql; query(db: Tx, sql: Prisma.Sql): Promise<(RowOf<ColumnSet<A>> & RowOf<ColumnSet<B>>)[]> } {
  return {
    select: Prisma.sql`${a.select}, ${b.select}`,
    query: (db, sql) => db.$queryRaw<(RowOf<ColumnSet<A>> & RowOf<ColumnSet<B>>)[]>(sql),
  };
}

/** Every column set declared so far (the libraries that declare them must have been imported). */
export function declaredColumnSets(): readonly AnyColumnSet[] {
  return registry;
}

/** `"identifier"`, with embedded quotes doubled. */
export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * A query that must return a row did not: an invariant the code relies on does not hold (a bug or
 * corrupted data, never the caller's fault), so the transaction rolls back and the answer is 500.
 */
export class MissingRowError extends Error {}

/** The first row, or MissingRowError naming what was expected (`what`: e.g. "engineer 3f2c… after its update"). */
export function expectOne<T>(rows: readonly T[], what: string): T {
  const [row] = rows;
  if (row === undefined) throw new MissingRowError(`Expected ${what}, found no row`);
  return row;
}
