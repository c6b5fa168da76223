// Loads Prisma's schema engine compiled to wasm (@prisma/schema-engine-wasm) so that migrations run
// through Prisma's own engine without downloading the native binary (see docs/prisma-offline-tooling.md).
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from '@prisma/driver-adapter-utils';
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

// Result row arrays whose query returned `"char"` columns, with those columns' indexes.
const charColumnsByRows = new WeakMap();

let charTypePatched = false;
/**
 * @prisma/adapter-pg cannot map PostgreSQL's internal `"char"` type (OID 18, e.g. pg_constraint's
 * contype, read by introspection) and throws. Inside the engine tooling only, let pg parse it as
 * text (OID 25) and remember where it was, so that queryRaw can report those columns as
 * `Character`: the engine reads contype as a char and panics on a text value.
 */
export function patchCharColumns() {
  if (charTypePatched) return;
  charTypePatched = true;
  const original = pg.Result.prototype.addFields;
  pg.Result.prototype.addFields = function addFields(fieldDescriptions) {
    const charColumns = [];
    fieldDescriptions.forEach((field, index) => {
      if (field.dataTypeID === 18) {
        field.dataTypeID = 25;
        charColumns.push(index);
      }
    });
    if (charColumns.length) charColumnsByRows.set(this.rows, charColumns);
    return original.call(this, fieldDescriptions);
  };
}

const patchedQueryables = new WeakSet();
/** Patches queryRaw of adapter-pg's (unexported) base class, shared by adapters and transactions. */
function reportCharColumns(adapter) {
  const queryable = Object.getPrototypeOf(Object.getPrototypeOf(adapter));
  if (patchedQueryables.has(queryable) || !Object.hasOwn(queryable, 'queryRaw')) return;
  patchedQueryables.add(queryable);
  const queryRaw = queryable.queryRaw;
  queryable.queryRaw = async function queryRawWithChars(query) {
    const result = await queryRaw.call(this, query);
    for (const index of charColumnsByRows.get(result.rows) ?? []) {
      result.columnTypes[index] = ColumnTypeEnum.Character;
    }
    return result;
  };
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/**
 * Runs `fn` with a client suitable for CREATE/DROP DATABASE: the URL's own database, or the
 * `postgres` maintenance database when that one does not exist (yet).
 */
export async function withAdminClient(url, fn) {
  let client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    if (error?.code !== '3D000') throw error;
    client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
    await client.connect();
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

// Temporary shadow databases still alive, and drops in progress: the engine program waits for
// these before answering and before exiting, since the CLI kills it as soon as it is done.
const liveShadowDatabases = new Map();
const pendingShadowDrops = new Set();

function dropShadowDatabase(name) {
  const url = liveShadowDatabases.get(name);
  if (!url) return Promise.resolve();
  liveShadowDatabases.delete(name);
  const drop = withAdminClient(url, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
    .catch(() => {})
    .finally(() => pendingShadowDrops.delete(drop));
  pendingShadowDrops.add(drop);
  return drop;
}

/** Waits until every temporary shadow database whose adapter was disposed has been dropped. */
export async function settleShadowDatabases() {
  await Promise.all([...pendingShadowDrops]);
}

/** Drops every temporary shadow database still alive (for shutdown after an interrupted command). */
export async function dropShadowDatabases() {
  await Promise.all([...liveShadowDatabases.keys()].map(dropShadowDatabase));
  await settleShadowDatabases();
}

/**
 * adapter-pg's executeScript splits a script on every ';', which breaks dollar-quoted function
 * bodies (triggers) in migrations. PostgreSQL's simple-query protocol runs a multi-statement script
 * as sent (in one implicit transaction), which is what the native engine does.
 */
function runScriptsWhole(adapter, onDatabaseError) {
  reportCharColumns(adapter);
  adapter.executeScript = async function executeScript(script) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  if (onDatabaseError) {
    const onError = adapter.onError;
    adapter.onError = function reportDatabaseError(error) {
      onDatabaseError(error);
      return onError.call(this, error);
    };
  }
  return adapter;
}

async function wipeSchemas(connectionString) {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT nspname FROM pg_namespace
        WHERE nspname NOT IN ('information_schema', 'pg_catalog', 'pg_toast')
          AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'`,
    );
    const drops = rows.map(({ nspname }) => `DROP SCHEMA "${nspname.replaceAll('"', '""')}" CASCADE;`);
    await client.query(`${drops.join('\n')}\nCREATE SCHEMA IF NOT EXISTS public;`);
  } finally {
    await client.end();
  }
}

const CONNECTION_PROBE = 'SELECT EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = $1), version()';

/**
 * Stands in for the main database when it cannot be reached. SchemaEngine.new runs one probe query
 * at once, whereas the native engine connects lazily, so that diffs between schemas, migrations
 * (on a shadow database) and empty work without the main database. Every other query fails with
 * the connection error.
 */
function detachedAdapter(connectionError) {
  const fail = async () => {
    throw connectionError;
  };
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    async queryRaw({ sql }) {
      if (!sql.startsWith(CONNECTION_PROBE)) return fail();
      return {
        columnNames: ['exists', 'version', 'numeric_version'],
        columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
        rows: [[true, 'PostgreSQL 15.0 (main database not reachable)', 150000]],
      };
    },
    executeRaw: fail,
    executeScript: fail,
    startTransaction: fail,
    getConnectionInfo: () => ({ supportsRelationJoins: true }),
    dispose: async () => {},
  };
}

/**
 * An adapter factory whose shadow database really is a separate database: the configured
 * `shadowDatabaseUrl` (wiped first), or a temporary one next to the main database, dropped on
 * dispose (adapter-pg's own connectToShadowDb() points back at the main database).
 * `onDatabaseError` sees the raw pg error of a failed query or script: the wasm engine's messages
 * lack its code, and adapter-pg rewords some of them. With `unreachable` (the error met when
 * connecting), the main database is replaced by a detached stand-in.
 */
export function createAdapterFactory(url, shadowDatabaseUrl, { onDatabaseError, unreachable } = {}) {
  const factory = new PrismaPg({ connectionString: url });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => (unreachable ? detachedAdapter(unreachable) : runScriptsWhole(await connect(), onDatabaseError));
  factory.connectToShadowDb = () =>
    connectToShadowDb().catch((error) => {
      onDatabaseError?.(error);
      throw error;
    });
  const connectToShadowDb = async () => {
    if (shadowDatabaseUrl) {
      await wipeSchemas(shadowDatabaseUrl);
      return runScriptsWhole(await new PrismaPg({ connectionString: shadowDatabaseUrl }).connect(), onDatabaseError);
    }
    if (!url) throw new Error('A shadow database needs a datasource url or a shadowDatabaseUrl.');
    const name = `prisma_migrate_shadow_db_${randomUUID().replaceAll('-', '')}`;
    await withAdminClient(url, (client) => client.query(`CREATE DATABASE "${name}"`));
    liveShadowDatabases.set(name, url);
    const adapter = runScriptsWhole(await new PrismaPg({ connectionString: withDatabase(url, name) }).connect(), onDatabaseError);
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await dropShadowDatabase(name);
    };
    return adapter;
  };
  return bindMigrationAwareSqlAdapterFactory(factory);
}

export async function createSchemaEngine({ url, shadowDatabaseUrl, datamodels, log = () => {}, onDatabaseError, unreachable }) {
  patchCharColumns();
  const { SchemaEngine } = await loadSchemaEngineModule();
  const adapterFactory = createAdapterFactory(url, shadowDatabaseUrl, { onDatabaseError, unreachable });
  return SchemaEngine.new({ datamodels }, log, adapterFactory);
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
