// Applies a project's migrations through Prisma's schema engine (wasm build), recording them in
// _prisma_migrations exactly as `prisma migrate deploy` does.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { createSchemaEngine, readMigrationsList } from './wasm-engine.mjs';

/**
 * The schema and the migrations folder of the project at `root`, laid out as prisma.config.ts
 * declares them. The default root is the working directory: npm scripts, the container (WORKDIR)
 * and the test runner all run from the project's root.
 */
function projectFiles(root = process.cwd()) {
  return { schemaPath: path.join(root, 'prisma', 'schema.prisma'), migrationsDir: path.join(root, 'prisma', 'migrations') };
}

// The engine refuses to start without a datamodel, even for commands that only read migrations.
async function openEngine(url, schemaPath) {
  const schema = await readFile(schemaPath, 'utf8');
  return createSchemaEngine({ url, datamodels: [[schemaPath, schema]] });
}

/** Applies pending migrations; serialised across processes by an advisory lock taken by the engine. */
export async function applyMigrations(url, { root } = {}) {
  const { schemaPath, migrationsDir } = projectFiles(root);
  const engine = await openEngine(url, schemaPath);
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
export async function pendingMigrations(url, { root } = {}) {
  const { schemaPath, migrationsDir } = projectFiles(root);
  const engine = await openEngine(url, schemaPath);
  try {
    const migrationsList = await readMigrationsList(migrationsDir);
    const diagnosis = await engine.diagnoseMigrationHistory({
      migrationsList,
      optInToShadowDatabase: false,
      filters: { externalTables: [], externalEnums: [] },
    });
    return diagnosis.history?.unappliedMigrationNames ?? [];
  } finally {
    engine.free();
  }
}
