import { setTimeout as sleep } from 'node:timers/promises';

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
  // Loaded only when migrations run: the wasm engine is large and most starts do not need it.
  const tool = await import('@app/prisma-engine');
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
