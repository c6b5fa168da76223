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
  if (columns.length === 0) columns.push(Prisma.raw('1 AS one'));
  const rows = await tx.$queryRaw<Record<string, unknown>[]>`
    WITH ${withList}
    SELECT ${Prisma.join(columns, ', ')} FROM (SELECT) AS statement ${joins.length > 0 ? Prisma.join(joins, ' ') : Prisma.empty}`;
  return rows[0] ?? {};
}
