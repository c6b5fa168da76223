// `npm start` runs the service from its TypeScript sources, on a fresh clone right after `npm ci`;
// `npm run start:prod` (`--built`) runs the compiled tree in dist/. With DATABASE_URL they use that
// server (the built service then runs in this very process). Without it, they serve an embedded
// PostgreSQL (PGlite) with its data in EMBEDDED_DATA_DIR and apply the migrations at start.
//
// With the embedded database the app runs as a child process and the database stays in this one,
// so on SIGTERM or SIGINT the app shuts down gracefully (closing its pool) while the database is
// still there, and the database is closed only after the app has gone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import jwt from 'jsonwebtoken';

import { DEVELOPMENT_SECRET_FILE, developmentJwtSecret } from './development-secret.mjs';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = process.argv.includes('--built');
const builtMain = path.join(projectRoot, 'dist', 'apps', 'api', 'src', 'main.js');
const generatedClient = path.join(projectRoot, 'libs', 'database', 'src', 'generated', 'prisma', 'client.ts');
const consoleIndex = path.join(projectRoot, 'dist', 'console', 'index.html');
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'];
/** How long the app may take to shut down gracefully before it is killed. */
const SHUTDOWN_GRACE_MS = 15_000;
/** The app's pool on the embedded database: it has one session behind it, more connections only queue. */
const EMBEDDED_POOL_MAX = '4';
const DEFAULT_EMBEDDED_PORT = 54329;
/** The console link's admin token lives a working day at most, and never longer than the service accepts. */
const CONSOLE_TOKEN_TTL_SECONDS = 8 * 3600;

function log(level, msg, fields = {}) {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === 'error') console.error(line);
  else console.info(line);
}

/** The Prisma client is generated (and git-ignored): make it on the first start of a fresh clone. */
function ensurePrismaClient() {
  if (existsSync(generatedClient)) return;
  log('info', 'Generating the Prisma client (first start)');
  const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  const result = spawnSync(process.execPath, [prismaCli, 'generate'], { cwd: projectRoot, stdio: 'inherit' });
  if (result.status !== 0) {
    log('error', 'prisma generate failed');
    process.exit(result.status ?? 1);
  }
}

/**
 * A fixed port by default, so that `npm run seed` and psql can reach the running database by a
 * known URL; when it is taken (another checkout running), any free port is used instead.
 */
function embeddedPort() {
  const raw = process.env.EMBEDDED_DATABASE_PORT?.trim();
  if (!raw) return { port: DEFAULT_EMBEDDED_PORT, anyPortIfTaken: true };
  const port = Number(raw);
  if (!/^[0-9]+$/.test(raw) || port > 65535) {
    log('error', `Invalid configuration: EMBEDDED_DATABASE_PORT must be a port number (0 for any free port), got "${raw}"`);
    process.exit(1);
  }
  return { port, anyPortIfTaken: false };
}

/** The console is built into dist/console (git-ignored): build it on the first start of a fresh clone. */
function ensureConsoleBuilt() {
  if (existsSync(consoleIndex)) return;
  log('info', 'Building the console (first start)');
  const viteCli = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [viteCli, 'build', '--config', 'apps/console/vite.config.mjs', '--logLevel', 'warn'], {
    cwd: projectRoot,
    stdio: 'inherit',
  });
  // The API works without it: say so and go on.
  if (result.status !== 0) log('warn', 'Building the console failed: /console is not served (npm run build:console shows why)');
}

/**
 * With the development secret this script can sign a token itself: once the service answers, it
 * prints a console link that signs a local admin in (the token travels in the fragment, which
 * browsers do not send to the server).
 */
async function printConsoleLink(env, child) {
  const port = Number(env.PORT?.trim() || 3000);
  const host = !env.HOST?.trim() || env.HOST.trim() === '0.0.0.0' || env.HOST.trim() === '::' ? '127.0.0.1' : env.HOST.trim();
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const maxTtl = Number(env.JWT_MAX_TTL_SECONDS?.trim() || 86_400);
  const ttl = Math.min(CONSOLE_TOKEN_TTL_SECONDS, Number.isFinite(maxTtl) && maxTtl > 0 ? maxTtl : CONSOLE_TOKEN_TTL_SECONDS);
  const claims = { sub: 'local-admin', roles: ['admin'] };
  const options = {
    algorithm: 'HS256',
    expiresIn: ttl,
    ...(env.JWT_ISSUER?.trim() ? { issuer: env.JWT_ISSUER.trim() } : {}),
    ...(env.JWT_AUDIENCE?.trim() ? { audience: env.JWT_AUDIENCE.trim() } : {}),
  };
  const token = jwt.sign(claims, env.JWT_SECRET, options);
  while (child.exitCode === null && child.signalCode === null) {
    try {
      if ((await fetch(`${base}/health/live`)).ok) {
        const built = existsSync(consoleIndex);
        log(
          'info',
          built
            ? `Console for a local admin (valid ${ttl / 3600} h): ${base}/console/#token=${token}`
            : 'The console is not built yet: run npm run build:console, then open the link printed at the next start',
        );
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function main() {
  let stopRequested = false;
  let forwardedSignal;
  let child;
  let graceTimer;

  // Registered before anything slow, so a signal during the embedded database's first
  // initialisation (several seconds) is handled too.
  for (const signal of SHUTDOWN_SIGNALS) {
    process.on(signal, () => {
      if (!child) {
        stopRequested = true;
        return;
      }
      if (forwardedSignal) {
        log('warn', `Second ${signal}: killing the service without waiting`);
        child.kill('SIGKILL');
        return;
      }
      forwardedSignal = signal;
      child.kill(signal);
      graceTimer = setTimeout(() => {
        log('error', `The service did not stop within ${SHUTDOWN_GRACE_MS / 1000} s: killing it`);
        child.kill('SIGKILL');
      }, SHUTDOWN_GRACE_MS);
      graceTimer.unref();
    });
  }

  const env = { ...process.env };
  const developmentSecret = !built && !['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'].some((name) => env[name]?.trim());
  if (developmentSecret) {
    env.JWT_SECRET = developmentJwtSecret();
    log(
      'warn',
      'JWT_SECRET is not set: npm start signs and verifies tokens with a DEVELOPMENT secret (npm run token uses it too). The built service (npm run start:prod) never does this.',
      {
        secretFile: path.relative(projectRoot, DEVELOPMENT_SECRET_FILE),
      },
    );
  }
  let embedded;
  if (!env.DATABASE_URL?.trim()) {
    const dataDir = path.resolve(projectRoot, env.EMBEDDED_DATA_DIR?.trim() || '.data/pglite');
    const portOptions = embeddedPort();
    log('warn', 'DATABASE_URL is not set: starting an EMBEDDED PostgreSQL (PGlite) for trying the service out', { dataDir });
    log(
      'warn',
      'The embedded database runs one session at a time: it is not for production or load tests. Set DATABASE_URL to use a PostgreSQL server.',
    );
    const startedAt = Date.now();
    // Loaded only here: PGlite is not needed with a database server.
    const { startEmbeddedPostgres } = await import('./embedded-postgres.mjs');
    embedded = await startEmbeddedPostgres({ dataDir, ...portOptions });
    log('info', `Embedded PostgreSQL ${embedded.created ? 'initialised' : 'opened'} in ${Date.now() - startedAt} ms`, {
      dataDir: embedded.dataDir,
      databaseUrl: embedded.url,
    });
    env.DATABASE_URL = embedded.url;
    env.DATABASE_POOL_MAX ??= EMBEDDED_POOL_MAX;
    // Every connection is the one PGlite session: a statement one connection prepared exists for all.
    env.DATABASE_PREPARED_STATEMENTS = 'false';
    env.MIGRATE_ON_START = 'true';
  }

  if (stopRequested) {
    log('info', 'Stopped before the service started');
    await embedded?.stop();
    return 0;
  }
  if (!built) {
    ensurePrismaClient();
    ensureConsoleBuilt();
  }

  // Source maps only for the sources: on the built tree they make every Error's stack expensive.
  const entry = built ? [builtMain] : ['--enable-source-maps', '--import', '@swc-node/register/esm-register', 'apps/api/src/main.ts'];
  child = spawn(process.execPath, entry, {
    cwd: projectRoot,
    env,
    stdio: 'inherit',
  });
  if (developmentSecret) void printConsoleLink(env, child);
  const [code, signal] = await new Promise((resolve) => child.once('exit', (...result) => resolve(result)));
  clearTimeout(graceTimer);
  await embedded?.stop();
  // Nest re-raises the shutdown signal on itself after a graceful close: that is a clean stop.
  if (signal && signal === forwardedSignal) return 0;
  if (signal) {
    log('error', `The service was ended by ${signal}`);
    return 1;
  }
  return code ?? 1;
}

// The built service is what runs in production: NODE_ENV says so unless the operator says otherwise.
if (built) process.env.NODE_ENV ||= 'production';

if (built && process.env.DATABASE_URL?.trim()) {
  // A replica on a database server: nothing to wrap, the service is this process.
  await import(pathToFileURL(builtMain).href);
} else {
  process.exitCode = await main();
}
