import { quoteIdentifier as quote } from './columns.js';
import { Prisma } from './generated/prisma/client.js';
import type { Tx } from './transaction-runner.js';

/**
 * One step of a combined statement: a SELECT … FOR UPDATE or a data-modifying statement that runs as
 * `name AS MATERIALIZED (sql)` in one WITH list. A later step may read an earlier one by its name (a
 * lock step that must wait until an earlier lock is held says `EXISTS (SELECT FROM <earlier>)`).
 * Each step yields at most one row.
 */
export interface StatementStep {
  name: string;
  sql: Prisma.Sql;
  /** What the combined row carries of this step: its fields (a column set's `selectFrom`), or how many rows it touched. */
  read: { fields: (source: string, prefix: string) => Prisma.Sql } | 'count' | 'nothing';
}

/**
 * Runs several steps in ONE statement (one round trip instead of one per step) and returns the one
 * combined row: each step's fields as `"<name>.<field>"` (read them with the column set's `pick`)
 * and, for a counted step, `"<name>.count"`. Locks are taken in the order the steps' dependencies
 * force, and data-modifying steps all see the statement's snapshot (PostgreSQL's rule for
 * data-modifying WITH): a step that needs another's result must read it from that step by name.
 * The statement also reads the transaction's clock, which `transactionTime` then answers for free.
 */
export async function runSteps(tx: Tx, steps: readonly StatementStep[]): Promise<Record<string, unknown>> {
  const withList = Prisma.join(
    steps.map((step) => Prisma.sql`${Prisma.raw(quote(step.name))} AS MATERIALIZED (${step.sql})`),
    ', ',
  );
  const columns: Prisma.Sql[] = [];
  const joins: Prisma.Sql[] = [];
  for (const step of steps) {
    if (step.read === 'count')
      columns.push(Prisma.raw(`(SELECT count(*) FROM ${quote(step.name)})::int AS ${quote(`${step.name}.count`)}`));
    else if (step.read !== 'nothing') {
      columns.push(step.read.fields(step.name, step.name));
      joins.push(Prisma.raw(`LEFT JOIN ${quote(step.name)} ON true`));
    }
  }
  columns.push(Prisma.raw(`${TRANSACTION_TIME} AS ${quote(TRANSACTION_TIME_FIELD)}`));
  const rows = await tx.$queryRaw<Record<string, unknown>[]>`
    WITH ${withList}
    SELECT ${Prisma.join(columns, ', ')} FROM (SELECT) AS statement ${joins.length > 0 ? Prisma.join(joins, ' ') : Prisma.empty}`;
  const row = rows[0] ?? {};
  remember(tx, row[TRANSACTION_TIME_FIELD]);
  return row;
}

/**
 * The transaction's clock (`now()`, fixed for the whole transaction in PostgreSQL) as the
 * timestamptz(3) columns store it: rounded to the millisecond, so that a row a use case predicts
 * carries exactly the timestamps the database writes. Free after a combined statement of the same
 * transaction (runSteps reads it along); one round trip otherwise.
 */
export async function transactionTime(tx: Tx): Promise<Date> {
  const known = clocks.get(tx);
  if (known) return known;
  const [row] = await tx.$queryRaw<
    Record<string, unknown>[]
  >`SELECT ${Prisma.raw(TRANSACTION_TIME)} AS ${Prisma.raw(quote(TRANSACTION_TIME_FIELD))}`;
  return remember(tx, row?.[TRANSACTION_TIME_FIELD]);
}

const TRANSACTION_TIME = 'now()::timestamptz(3)';
const TRANSACTION_TIME_FIELD = 'transaction.now';
const clocks = new WeakMap<Tx, Date>();

function remember(tx: Tx, value: unknown): Date {
  if (!(value instanceof Date)) throw new Error(`The transaction's clock read as ${String(value)}, not a timestamp`);
  clocks.set(tx, value);
  return value;
}
