import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Names of the migrations this build ships, read once at start from prisma/migrations. */
export function shippedMigrations(root = process.cwd()): string[] {
  const dir = path.join(root, 'prisma', 'migrations');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}
