import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

interface MigrationTool {
  applyMigrations(url: string): Promise<string[]>;
}

/**
 * Prisma's engine serialises migration runs with an advisory lock, but gives up after waiting 10 s
 * for it ("Timed out trying to acquire a postgres advisory lock"): a replica starting while another
 * one applies a long migration (an index on a large table) would exit. It waits here instead.
 */
const LOCK_WAIT_LIMIT_MS = 10 * 60_000;
const LOCK_RETRY_DELAY_MS = 1_000;

/**
 * MIGRATE_ON_START: the same engine as `npm run db:migrate`. Several replicas may start at once:
 * one applies the migrations, the others wait for it and then find nothing pending.
 */
export async function applyPendingMigrations(databaseUrl: string): Promise<string[]> {
  const toolPath = pathToFileURL(path.join(process.cwd(), 'tools', 'prisma-engine', 'migrate.mjs')).href;
  const tool = (await import(toolPath)) as MigrationTool;
  const giveUpAt = Date.now() + LOCK_WAIT_LIMIT_MS;
  for (;;) {
    try {
      const applied = await tool.applyMigrations(databaseUrl);
      log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date');
      return applied;
    } catch (error) {
      if (!/advisory lock/i.test(String((error as Error).message)) || Date.now() >= giveUpAt) throw error;
      log('Another process is applying migrations; waiting for it');
      await sleep(LOCK_RETRY_DELAY_MS);
    }
  }
}

function log(msg: string): void {
  console.info(JSON.stringify({ level: 'info', msg }));
}
