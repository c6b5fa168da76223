// Loads Prisma's schema engine compiled to wasm (@prisma/schema-engine-wasm) so that migrations run
// through Prisma's own engine without downloading the native binary (see docs/prisma-offline.md).
import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';

const require = createRequire(import.meta.url);
const wasmPackageDir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));

let enginePromise;

// The wasm build reports Rust panics through this global; keep the message so errors say why.
export const panicRegistry = {
  lastMessage: undefined,
  set_message(message) {
    this.lastMessage = message;
  },
};

async function loadWasmModule() {
  globalThis.PRISMA_WASM_PANIC_REGISTRY ??= panicRegistry;
  // The package is wasm-bindgen "bundler" output: Node cannot import the .wasm directly.
  const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const bytes = await readFile(path.join(wasmPackageDir, 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bindings });
  bindings.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return bindings;
}

export function loadSchemaEngineModule() {
  enginePromise ??= loadWasmModule();
  return enginePromise;
}

let charTypePatched = false;
/**
 * @prisma/adapter-pg cannot map PostgreSQL's internal `"char"` type (OID 18, used in catalogs that
 * introspection reads) and throws. Inside the engine tooling only, report it as text (OID 25).
 */
export function patchCharColumns() {
  if (charTypePatched) return;
  charTypePatched = true;
  const original = pg.Result.prototype.addFields;
  pg.Result.prototype.addFields = function addFields(fieldDescriptions) {
    for (const field of fieldDescriptions) {
      if (field.dataTypeID === 18) field.dataTypeID = 25;
    }
    return original.call(this, fieldDescriptions);
  };
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * An adapter factory whose shadow database really is a separate, temporary database next to the
 * main one (adapter-pg's own connectToShadowDb() points back at the main database).
 */
/**
 * adapter-pg's executeScript splits a script on every ';', which breaks dollar-quoted function
 * bodies (triggers) in migrations. PostgreSQL's simple-query protocol runs a multi-statement script
 * as sent, which is what the native engine does.
 */
function runScriptsWhole(adapter) {
  adapter.executeScript = async function executeScript(script) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  return adapter;
}

export function createAdapterFactory(url, shadowDatabaseUrl) {
  const factory = new PrismaPg({ connectionString: url });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => runScriptsWhole(await connect());
  factory.connectToShadowDb = async () => {
    if (shadowDatabaseUrl) {
      const client = new pg.Client({ connectionString: shadowDatabaseUrl });
      await client.connect();
      await client.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
      await client.end();
      return runScriptsWhole(await new PrismaPg({ connectionString: shadowDatabaseUrl }).connect());
    }
    const name = `prisma_migrate_shadow_db_${randomUUID().replaceAll('-', '')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const adapter = runScriptsWhole(await new PrismaPg({ connectionString: withDatabase(url, name) }).connect());
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      const dropper = new pg.Client({ connectionString: url });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await dropper.end();
    };
    return adapter;
  };
  return bindMigrationAwareSqlAdapterFactory(factory);
}

export async function createSchemaEngine({ url, shadowDatabaseUrl, datamodels, log = () => {} }) {
  patchCharColumns();
  const { SchemaEngine } = await loadSchemaEngineModule();
  return SchemaEngine.new({ datamodels }, log, createAdapterFactory(url, shadowDatabaseUrl));
}

/** Reads prisma/migrations the way the Prisma CLI does, for applyMigrations and friends. */
export async function readMigrationsList(migrationsDir) {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const directories = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrationDirectories = await Promise.all(
    directories.map(async (name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      const content = await readFile(file, 'utf8').then(
        (value) => ({ tag: 'ok', value }),
        (error) => ({ tag: 'error', value: String(error) }),
      );
      return { path: name, migrationFile: { path: 'migration.sql', content } };
    }),
  );
  const lockfileContent = await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8').catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: lockfileContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}
