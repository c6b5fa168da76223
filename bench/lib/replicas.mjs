// Replicas of the service as child processes of the harness: started on 127.0.0.1 with a free port,
// logs to files, stopped gracefully (SIGTERM) or killed (SIGKILL) by their own pid only.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { waitForOk } from './http-client.mjs';

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 20_000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The command that runs the service from `root`: the build output as `npm run start:prod` does (no
 * --enable-source-maps: it makes every Error's stack expensive), or the sources through swc.
 */
export function serviceCommand(root, mode) {
  if (mode === 'dist') {
    const entry = path.join(root, 'dist', 'apps', 'api', 'src', 'main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (or pass --build, or --service=source)`);
    return [entry];
  }
  return ['--import', '@swc-node/register/esm-register', path.join('apps', 'api', 'src', 'main.ts')];
}

/**
 * One process of the service (or, with `name` and `command`, of another server that answers
 * /health/ready the same way, like the lean reference), logging to <logDir>/<name>-<index>.log.
 */
export class Replica {
  constructor({ index, root, mode, env, logDir, name = 'replica', command }) {
    Object.assign(this, { index, root, mode, env, logDir, name, command, child: undefined, port: undefined, exited: undefined });
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.child?.pid;
  }

  /** Starts the process (on the same port as before when restarted) and resolves once /health/ready is 200. */
  async start({ nodeArgs = [] } = {}) {
    this.port ??= await freePort();
    const logFile = path.join(this.logDir, `${this.name}-${this.index}.log`);
    const log = openSync(logFile, 'a');
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TZ: 'UTC',
      NODE_ENV: 'production',
      // The harness never scrapes /metrics: closed with a token nobody holds.
      METRICS_TOKEN: randomBytes(16).toString('hex'),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The harness migrates the scratch database before any replica starts.
      MIGRATE_ON_START: 'false',
      // Escalation runs only when the scale phase asks for a pass, so that the pass it times does all the work.
      SCHEDULER_ENABLED: 'false',
      ...this.env,
      PORT: String(this.port),
    };
    const child = spawn(process.execPath, [...nodeArgs, ...(this.command ?? serviceCommand(this.root, this.mode))], {
      cwd: this.root,
      env,
      stdio: ['ignore', log, log],
    });
    this.spawnedAt = Date.now();
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const started = Date.now();
    const ready = await Promise.race([waitForOk(this.baseUrl, '/health/ready', READY_TIMEOUT_MS), this.exited.then(() => null)]);
    if (ready === null) {
      throw new Error(`${this.name} ${this.index} did not become ready (see ${logFile})`);
    }
    return Date.now() - started;
  }

  /** kill -9: no shutdown hooks, connections dropped mid-flight. */
  async kill() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait (the service drains in-flight requests and closes its pool), SIGKILL past the grace. */
  async stop() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** CPU time (user + system) the process has used so far, in ms, from /proc (Linux, 100 ticks/s). */
  cpuMs() {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return null;
    }
  }

  /** Resident set size in bytes, from /proc (Linux). */
  rssBytes() {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return match ? Number(match[1]) * 1024 : null;
    } catch {
      return null;
    }
  }
}

/** Warnings and errors a replica logged (pino JSON lines, level ≥ 40), counted by message with digits masked. */
export function loggedProblems(logDir, index) {
  const counts = new Map();
  let text = '';
  try {
    text = readFileSync(path.join(logDir, `replica-${index}.log`), 'utf8');
  } catch {
    return [];
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry.level !== 'number' || entry.level < 40 || entry.context === 'LegacyRouteConverter') continue;
    const key = `${entry.level >= 50 ? 'error' : 'warn'} ${entry.context ?? ''}: ${String(entry.msg ?? entry.err?.message ?? '')
      .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')
      .replace(/\d+/g, 'N')}`.slice(0, 300);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([message, count]) => ({ replica: index, message, count }));
}
