// `npm run db:migrate`: applies pending migrations from prisma/migrations through Prisma's schema
// engine (wasm build), recording them in _prisma_migrations exactly as `prisma migrate deploy` does.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createSchemaEngine, readMigrationsList } from './wasm-engine.mjs';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');
const schemaPath = path.join(projectRoot, 'prisma', 'schema.prisma');

// The engine refuses to start without a datamodel, even for commands that only read migrations.
async function openEngine(url) {
  const schema = await readFile(schemaPath, 'utf8');
  return createSchemaEngine({ url, datamodels: [[schemaPath, schema]] });
}

/** Applies pending migrations; serialised across processes by an advisory lock taken by the engine. */
export async function applyMigrations(url) {
  const engine = await openEngine(url);
  try {
    const migrationsList = await readMigrationsList(migrationsDir);
    const result = await engine.applyMigrations({
      migrationsList,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.appliedMigrationNames;
  } finally {
    engine.free();
  }
}

/** Names of migrations in the folder that the database has not applied (empty when up to date). */
export async function pendingMigrations(url) {
  const engine = await openEngine(url);
  try {
    const migrationsList = await readMigrationsList(migrationsDir);
    const diagnosis = await engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters: { externalTables: [], externalEnums: [] } });
    return diagnosis.history?.unappliedMigrationNames ?? [];
  } finally {
    engine.free();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Migrations take a session-level advisory lock: through a transaction-mode pooler it could be
  // released or taken twice, so the direct connection is used when there is one.
  const url = process.env.DATABASE_DIRECT_URL?.trim() || process.env.DATABASE_URL?.trim();
  if (!url) {
    console.error('DATABASE_URL (or DATABASE_DIRECT_URL) is required for db:migrate');
    process.exit(1);
  }
  const applied = await applyMigrations(url);
  console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'No pending migrations.');
  // The wasm engine leaves a 10 s timer behind that would keep the process alive.
  process.exit(0);
}
