import { randomUUID } from 'node:crypto';

import pg from 'pg';

export const SERVER_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A pool for a test's own SQL on a test database. pool.end() resolves before its connections have
 * finished closing, so the DROP DATABASE … WITH (FORCE) that follows may terminate one of them:
 * pg-pool re-emits that on the pool, which without a listener is an uncaught exception. (The
 * per-connection listener is what graphile-worker checks for before it uses a pool.)
 */
export function testPool(name: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl(name), max });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database cloned from the migrated template (CREATE DATABASE … TEMPLATE), for one suite. */
export async function cloneTemplate(template: string): Promise<string> {
  const name = `${template}_c_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await withAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
      return name;
    } catch (error) {
      // Two suites cloning at the same instant: "source database is being accessed by other users".
      if (attempt > 50 || !String((error as Error).message).includes('being accessed')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
