#!/usr/bin/env node
// Drop-in replacement for Prisma's native `schema-engine` binary, which cannot be downloaded here.
// The Prisma CLI finds it through PRISMA_SCHEMA_ENGINE_BINARY (set in prisma.config.ts) and drives
// it exactly like the native one; the work is done by Prisma's own engine compiled to wasm
// (wasm-engine.mjs). See docs/prisma-offline-tooling.md.
//
//   schema-engine --version
//   schema-engine --datasource '{"url":…}' cli can-connect-to-database|create-database|drop-database
//   schema-engine [--datamodels <path>]… [--datasource '{"url":…,"shadowDatabaseUrl":…}']
//       JSON-RPC 2.0, one object per line: requests on stdin, responses on stdout.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { format, parseArgs } from 'node:util';

import pg from 'pg';

import {
  createSchemaEngine,
  dropShadowDatabases,
  loadSchemaEngineModule,
  panicRegistry,
  settleShadowDatabases,
  withAdminClient,
} from './wasm-engine.mjs';

// stdout carries the JSON-RPC stream only: anything a library prints goes to stderr, where the CLI
// ignores lines that are not JSON log records.
for (const level of ['log', 'info', 'warn', 'debug']) {
  console[level] = (...args) => process.stderr.write(`${format(...args)}\n`);
}
// The CLI may exit before this process has finished cleaning up: writes to its pipes then fail.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const FALLBACK_DATAMODEL = 'datasource db {\n  provider = "postgresql"\n}\n';
const SHADOW_FACTORY_ERROR = 'shadow DB must be provided through an external factory';

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

class EngineError extends Error {
  constructor(message, { errorCode, meta, isPanic = false } = {}) {
    super(message);
    this.errorCode = errorCode;
    this.meta = meta;
    this.isPanic = isPanic;
  }
}

// User-facing errors of the native engine, recognised by their message since wasm errors carry no
// code. The CLI prints the code above the message.
const KNOWN_ERRORS = [
  { errorCode: 'P3005', pattern: /^The database schema is not empty\./ },
  { errorCode: 'P3006', pattern: /^Migration `(?<migration_name>[^`]+)` failed to apply cleanly to the shadow/ },
  { errorCode: 'P3008', pattern: /^The migration `(?<migration_name>[^`]+)` is already recorded as applied/ },
  { errorCode: 'P3009', pattern: /^migrate found failed migrations in the target database/ },
  { errorCode: 'P3011', pattern: /^Migration `(?<migration_name>[^`]+)` cannot be rolled back because it was never/ },
  { errorCode: 'P3012', pattern: /^Migration `(?<migration_name>[^`]+)` cannot be rolled back because it is not in/ },
  { errorCode: 'P3017', pattern: /^The migration (?<migration_name>\S+) could not be found\./ },
];

function recogniseError(message) {
  for (const { errorCode, pattern } of KNOWN_ERRORS) {
    const match = pattern.exec(message);
    if (match) return new EngineError(message, { errorCode, meta: { ...match.groups } });
  }
  return new EngineError(message);
}

/** The wasm engine appends a tracing span list ("   0: schema_engine_wasm::…") to its messages. */
function cleanMessage(message) {
  return String(message ?? '')
    .replace(/\n\s+0: [\w:]+::[\s\S]*$/, '')
    .trim();
}

function describeServer(url) {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}`;
}

function databaseName(url) {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

/** Turns a pg connection failure into the error the native engine reports (P1000, P1001, P1003). */
function connectionError(error, url) {
  const server = describeServer(url);
  if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN'].includes(error?.code)) {
    return new EngineError(
      `Can't reach database server at \`${server}\`\n\nPlease make sure your database server is running at \`${server}\`.`,
      { errorCode: 'P1001', meta: { database_host: new URL(url).hostname, database_port: new URL(url).port || '5432' } },
    );
  }
  if (error?.code === '3D000') {
    return new EngineError(`Database \`${databaseName(url)}\` does not exist on the database server at \`${server}\`.`, {
      errorCode: 'P1003',
      meta: { database_name: databaseName(url), database_host: server },
    });
  }
  if (error?.code === '28P01' || error?.code === '28000') {
    const user = decodeURIComponent(new URL(url).username);
    return new EngineError(
      `Authentication failed against database server, the provided database credentials for \`${user}\` are not ` +
        'valid.\n\nPlease make sure to provide valid database credentials for the database server at the configured address.',
      { errorCode: 'P1000', meta: { database_user: user } },
    );
  }
  return new EngineError(error?.message ?? String(error));
}

async function checkConnection(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw connectionError(error, url);
  } finally {
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// `cli` subcommands (their own process; success is exit code 0)
// ---------------------------------------------------------------------------------------------

async function createDatabase(url) {
  const name = databaseName(url);
  try {
    await withAdminClient(url, (client) => client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`));
  } catch (error) {
    if (error?.code === '42P04') {
      throw new EngineError(`Database \`${name}\` already exists on the database server at \`${describeServer(url)}\``, {
        errorCode: 'P1009',
      });
    }
    throw error instanceof EngineError ? error : connectionError(error, url);
  }
  return name;
}

async function dropDatabase(url) {
  const name = databaseName(url);
  const parsed = new URL(url);
  parsed.pathname = '/postgres';
  const client = new pg.Client({ connectionString: parsed.toString() });
  try {
    await client.connect();
    await client.query(`DROP DATABASE "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  } catch (error) {
    throw connectionError(error, url);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The CLI ignores stderr's first line and parses every following line as a JSON log record. */
function writeCliError(error) {
  const fields = { message: error instanceof EngineError ? error.message : String(error?.message ?? error) };
  if (error?.errorCode) fields.error_code = error.errorCode;
  process.stderr.write(`schema-engine (wasm) failed\n`);
  const record = { timestamp: new Date().toISOString(), level: 'ERROR', fields, target: 'schema_engine::logger' };
  process.stderr.write(`${JSON.stringify(record)}\n`);
}

async function runCliCommand(command, url) {
  if (!url) throw new EngineError('The `cli` commands need a --datasource with a url.');
  switch (command) {
    case 'can-connect-to-database':
      await checkConnection(url);
      return;
    case 'create-database':
      process.stdout.write(`Database '${await createDatabase(url)}' was successfully created.\n`);
      return;
    case 'drop-database':
      await dropDatabase(url);
      process.stdout.write(`The database was successfully dropped.\n`);
      return;
    default:
      throw new EngineError(`Unknown cli command: ${command}`);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC server
// ---------------------------------------------------------------------------------------------

class RpcServer {
  constructor({ datamodelPaths, datasource }) {
    this.datamodelPaths = datamodelPaths;
    this.url = datasource.url;
    this.shadowDatabaseUrl = datasource.shadowDatabaseUrl;
    this.enginePromise = undefined;
    // The raw pg error of the last failed query or script of the current request.
    this.lastDatabaseError = undefined;
    this.queue = Promise.resolve();
    this.nextReverseId = 1;
    this.reverseCalls = new Map();
  }

  send(message) {
    process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  }

  /** A request from the engine to the CLI (only `print` exists), answered on our stdin. */
  callClient(method, params) {
    const id = this.nextReverseId++;
    return new Promise((resolve, reject) => {
      this.reverseCalls.set(id, { resolve, reject });
      this.send({ id, method, params });
    });
  }

  engine() {
    this.enginePromise ??= (async () => {
      const datamodels = await Promise.all(this.datamodelPaths.map(async (file) => [file, await readFile(path.resolve(file), 'utf8')]));
      const options = {
        url: this.url,
        shadowDatabaseUrl: this.shadowDatabaseUrl,
        // SchemaEngine.new panics on an empty list; commands started without a schema (db execute,
        // migrate diff) get a bare PostgreSQL datasource.
        datamodels: datamodels.length ? datamodels : [['schema.prisma', FALLBACK_DATAMODEL]],
        log: (line) => process.stderr.write(`${line}\n`),
        onDatabaseError: (error) => {
          this.lastDatabaseError = error;
        },
      };
      if (!this.url) {
        return createSchemaEngine({ ...options, unreachable: new EngineError('No datasource url was configured.') });
      }
      try {
        return await createSchemaEngine(options);
      } catch (error) {
        // Without its main database the engine can still diff schemas and migrations.
        const unreachable = await checkConnection(this.url).then(
          () => undefined,
          (connectionFailure) => connectionFailure,
        );
        if (!unreachable?.errorCode) throw error;
        return createSchemaEngine({ ...options, unreachable });
      }
    })();
    return this.enginePromise;
  }

  handleLine(line) {
    if (!line.trim()) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      this.send({ id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    if (message.method === undefined) {
      const call = this.reverseCalls.get(message.id);
      if (!call) return;
      this.reverseCalls.delete(message.id);
      if (message.error) call.reject(new EngineError(message.error.message ?? 'print failed'));
      else call.resolve(message.result);
      return;
    }
    // The wasm engine is not meant for concurrent calls: run requests one at a time, in order.
    this.queue = this.queue.then(() => this.handleRequest(message));
  }

  async handleRequest({ id, method, params }) {
    const handler = this.methods[method];
    if (!handler) {
      if (id !== undefined) this.send({ id, error: { code: -32601, message: `Method not found: ${method}` } });
      return;
    }
    // A Rust panic surfaces as an uncaught exception, not as a rejection of the pending call.
    const aborted = new Promise((resolve, reject) => {
      this.abortInFlight = reject;
    });
    let response;
    try {
      if (this.panic) throw this.panic;
      this.lastDatabaseError = undefined;
      const result = await Promise.race([handler.call(this, params ?? {}), aborted]);
      response = { id, result: result ?? {} };
    } catch (error) {
      response = { id, error: await this.toRpcError(error) };
    } finally {
      this.abortInFlight = undefined;
    }
    await settleShadowDatabases();
    if (id !== undefined) this.send(response);
  }

  async toRpcError(error) {
    let engineError = error instanceof EngineError ? error : undefined;
    if (!engineError && error instanceof WebAssembly.RuntimeError) {
      // The wasm instance is unusable after a panic: refuse later calls with the same error.
      engineError = new EngineError(`The schema engine (wasm) panicked: ${panicRegistry.lastMessage ?? error.message}`, {
        isPanic: true,
      });
      this.panic = engineError;
    }
    if (!engineError) {
      // Errors thrown by our adapter code reach the wasm engine only as an id in a registry.
      let message = cleanMessage(error?.message ?? error);
      if (this.lastDatabaseError && /External error id#\d+/.test(message)) {
        message = message.replace(/External error id#\d+/, this.lastDatabaseError.message);
      }
      engineError = recogniseError(message);
    }
    // Wasm errors carry no error codes: recognise an unreachable or missing database by asking it.
    if (!engineError.errorCode && !engineError.isPanic && this.url) {
      try {
        await checkConnection(this.url);
      } catch (connectionFailure) {
        if (connectionFailure.errorCode) engineError = connectionFailure;
      }
    }
    const data = { is_panic: false, message: engineError.message, backtrace: null };
    if (engineError.errorCode) {
      data.error_code = engineError.errorCode;
      data.meta = engineError.meta ?? {};
    }
    // Reported as a plain error even when the wasm engine panicked: the CLI's panic path offers to
    // upload an error report to Prisma, which cannot work offline and is not Prisma's bug anyway.
    return { code: 4466, message: 'An error happened. Check the data field for details.', data };
  }

  /** The failing statement's own PostgreSQL message, as the native engine reports it. */
  databaseErrorMessage() {
    const error = this.lastDatabaseError;
    if (!error) return undefined;
    return [`ERROR: ${error.message}`, error.detail && `DETAIL: ${error.detail}`, error.hint && `HINT: ${error.hint}`]
      .filter(Boolean)
      .join('\n');
  }

  /** Gives failed migrations the native engine's error codes (P3009, P3018), which wasm errors lack. */
  async applyMigrations(params) {
    const engine = await this.engine();
    try {
      return await engine.applyMigrations(params);
    } catch (error) {
      const failed = this.lastDatabaseError && (await this.failedMigrationName());
      if (!failed) throw error;
      const databaseError = this.databaseErrorMessage();
      const databaseErrorCode = this.lastDatabaseError.code ?? 'unknown';
      throw new EngineError(
        'A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more ' +
          'about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n' +
          `Migration name: ${failed}\n\nDatabase error code: ${databaseErrorCode}\n\nDatabase error:\n${databaseError}`,
        {
          errorCode: 'P3018',
          meta: { migration_name: failed, database_error_code: databaseErrorCode, database_error: databaseError },
        },
      );
    }
  }

  async failedMigrationName() {
    if (!this.url) return undefined;
    const client = new pg.Client({ connectionString: this.url });
    try {
      await client.connect();
      const { rows } = await client.query(
        `SELECT migration_name FROM _prisma_migrations
          WHERE finished_at IS NULL AND rolled_back_at IS NULL ORDER BY started_at DESC LIMIT 1`,
      );
      return rows[0]?.migration_name;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * The wasm evaluateDataLoss reads a shadow-database schema cached by devDiagnostic (it gets no
   * adapter factory); when the cache misses, refresh it and retry once.
   */
  async withDevDiagnosticRetry(method, params) {
    const engine = await this.engine();
    try {
      return await engine[method](params);
    } catch (error) {
      if (!String(error?.message).includes(SHADOW_FACTORY_ERROR)) throw error;
      await engine.devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters });
      return engine[method](params);
    }
  }

  /**
   * The script from the migrations directory to the schema, or null when they agree. `migrate dev`
   * decides with this rather than with the devDiagnostic cache, which ignores preview features
   * (partialIndexes) and so keeps proposing to create partial indexes again.
   */
  async pendingMigrationScript({ migrationsList, schema, filters }) {
    // diff needs the lockfile to pick the connector; a first migration has none yet.
    const lockfile = { ...migrationsList.lockfile };
    lockfile.content ??= 'provider = "postgresql"\n';
    const { exitCode, stdout } = await (
      await this.engine()
    ).diff({
      from: { tag: 'migrations', ...migrationsList, lockfile },
      to: { tag: 'schemaDatamodel', ...schema },
      script: true,
      exitCode: true,
      filters,
    });
    return exitCode === 2 ? stdout : null;
  }

  async evaluateDataLoss(params) {
    const script = await this.pendingMigrationScript(params);
    if (script === null) return { migrationSteps: 0, unexecutableSteps: [], warnings: [] };
    const result = await this.withDevDiagnosticRetry('evaluateDataLoss', params);
    // The cache's view misses partial unique indexes, so it may warn about adding one that exists.
    const warnings = result.warnings.filter(({ message }) => {
      const addsUnique = /^A unique constraint covering the columns `\[.*?\]` on the table `([^`]+)` will be added/;
      const table = addsUnique.exec(message)?.[1];
      const createsUniqueIndex = (line) => line.startsWith('CREATE UNIQUE INDEX') && line.includes(`ON "${table}"`);
      return !table || script.split('\n').some(createsUniqueIndex);
    });
    return { ...result, migrationSteps: Math.max(result.migrationSteps, 1), warnings };
  }

  async createMigration(params) {
    const script = await this.pendingMigrationScript(params);
    const timestamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    let migrationScript = script;
    if (script === null && params.draft) migrationScript = '-- This is an empty migration.\n';
    return {
      connectorType: 'postgresql',
      generatedMigrationName: params.migrationName ? `${timestamp}_${params.migrationName}` : timestamp,
      migrationScript,
      extension: 'sql',
    };
  }

  async datasourceUrl(datasource) {
    if (datasource?.tag === 'ConnectionString' && datasource.url) return datasource.url;
    if (!this.url) throw new EngineError('No datasource url was given to the schema engine (--datasource).');
    return this.url;
  }

  methods = {
    applyMigrations: this.applyMigrations,
    async createDatabase({ datasource }) {
      return { databaseName: await createDatabase(await this.datasourceUrl(datasource)) };
    },
    createMigration: this.createMigration,
    async dbExecute(params) {
      try {
        await (await this.engine()).dbExecute(params);
      } catch (error) {
        // adapter-pg rewords some database errors ("external connector error / No such table").
        const message = this.databaseErrorMessage();
        throw message ? new EngineError(message) : error;
      }
      return null;
    },
    async debugPanic() {
      return (await this.engine()).debugPanic();
    },
    async devDiagnostic(params) {
      return (await this.engine()).devDiagnostic(params);
    },
    async diagnoseMigrationHistory(params) {
      return (await this.engine()).diagnoseMigrationHistory(params);
    },
    /** The native engine prints the diff through the CLI; the wasm one returns it. */
    async diff(params) {
      const { exitCode, stdout } = await (await this.engine()).diff(params);
      if (typeof stdout === 'string') await this.callClient('print', { content: stdout });
      return { exitCode };
    },
    async ensureConnectionValidity(params) {
      const url = await this.datasourceUrl(params?.datasource);
      await checkConnection(url);
      return {};
    },
    evaluateDataLoss: this.evaluateDataLoss,
    async getDatabaseVersion(params) {
      return (await this.engine()).version(params?.datasource ? params : null);
    },
    async introspect(params) {
      return (await this.engine()).introspect(params);
    },
    async introspectSql(params) {
      return (await this.engine()).introspectSql(params);
    },
    async markMigrationApplied(params) {
      return (await this.engine()).markMigrationApplied(params);
    },
    async markMigrationRolledBack(params) {
      return (await this.engine()).markMigrationRolledBack(params);
    },
    async reset(params) {
      await (await this.engine()).reset(params);
      return {};
    },
    /** Like evaluateDataLoss: decide "already in sync" with diff, which honours preview features. */
    async schemaPush(params) {
      const engine = await this.engine();
      const { exitCode } = await engine.diff({
        from: { tag: 'schemaDatasource', files: params.schema.files, configDir: process.cwd() },
        to: { tag: 'schemaDatamodel', files: params.schema.files },
        script: true,
        exitCode: true,
        filters: params.filters,
      });
      if (exitCode === 0) return { executedSteps: 0, unexecutable: [], warnings: [] };
      return engine.schemaPush(params);
    },
  };

  /** Returns false when no request was running to take the error. */
  abort(error) {
    if (!this.abortInFlight) return false;
    this.abortInFlight(error);
    return true;
  }

  async close() {
    await this.queue;
    const engine = await this.enginePromise?.catch(() => undefined);
    try {
      if (!this.panic) engine?.free();
    } catch {
      // Still borrowed by a call that failed: the process exits anyway.
    }
    await dropShadowDatabases();
  }
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

async function printVersion() {
  const { version } = await loadSchemaEngineModule();
  process.stdout.write(`schema-engine-cli ${version()} (wasm, @prisma/schema-engine-wasm)\n`);
}

function parseDatasource(json) {
  if (!json) return {};
  try {
    return JSON.parse(json);
  } catch {
    throw new EngineError(`--datasource is not valid JSON: ${json}`);
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    strict: false,
    allowPositionals: true,
    options: {
      datamodels: { type: 'string', multiple: true },
      datasource: { type: 'string' },
      'enabled-preview-features': { type: 'string' },
      'extension-types': { type: 'string' },
      version: { type: 'boolean', short: 'V' },
      help: { type: 'boolean', short: 'h' },
    },
  });

  if (values.version) {
    await printVersion();
    return 0;
  }
  if (values.help) {
    process.stdout.write('Usage: schema-engine [--datamodels <path>]… [--datasource <json>] [cli <command>]\n');
    return 0;
  }

  const datasource = parseDatasource(values.datasource);
  if (positionals[0] === 'cli') {
    try {
      await runCliCommand(positionals[1], datasource.url);
      return 0;
    } catch (error) {
      writeCliError(error);
      return 1;
    }
  }

  const server = new RpcServer({ datamodelPaths: values.datamodels ?? [], datasource });
  process.on('uncaughtException', (error) => {
    if (error?.code === 'EPIPE') return;
    if (!server.abort(error)) {
      writeCliError(error);
      dropShadowDatabases().finally(() => process.exit(101));
    }
  });
  const stopped = new Promise((resolve) => {
    const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    input.on('line', (line) => server.handleLine(line));
    input.on('close', resolve);
    // The CLI ends stdin and sends SIGTERM right away: finish cleaning up before exiting.
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await stopped;
  await server.close();
  return 0;
}

main().then(
  (exitCode) => process.exit(exitCode),
  (error) => {
    writeCliError(error);
    process.exit(1);
  },
);
