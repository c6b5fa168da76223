import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface MigrationTool {
  applyMigrations(url: string): Promise<string[]>;
}

/**
 * MIGRATE_ON_START: the same engine as `npm run db:migrate`. The engine serialises concurrent
 * runs with an advisory lock, so several replicas may start at once.
 */
export async function applyPendingMigrations(databaseUrl: string): Promise<void> {
  const toolPath = pathToFileURL(path.join(process.cwd(), 'tools', 'prisma-engine', 'migrate.mjs')).href;
  const tool = (await import(toolPath)) as MigrationTool;
  const applied = await tool.applyMigrations(databaseUrl);
  console.info(JSON.stringify({ level: 'info', msg: applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date' }));
}
