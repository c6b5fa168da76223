import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import pg from 'pg';

import { SERVER_URL } from './database.js';
import { freePort } from './ports.js';

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((candidate) => existsSync(candidate));

/** Why the pooler tests cannot run here, or undefined when they can. */
export function pgbouncerMissing(): string | undefined {
  return PGBOUNCER ? undefined : 'pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)';
}

export interface Pooler {
  /** DATABASE_URL through the pooler, for the given database. */
  url(databaseName: string): string;
  /** Transactions PgBouncer has carried to this database so far (its admin console's SHOW STATS). */
  transactions(databaseName: string): Promise<number>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pgbouncer did not listen on ${port}:\n${output()}`);
}

/**
 * A real PgBouncer in transaction mode in front of the test server, on a free port, with trust auth
 * as the server has. PgBouncer refuses to run as root, so under root it runs as the postgres user.
 */
export async function startPgbouncer(poolSize = 20): Promise<Pooler> {
  if (!PGBOUNCER) throw new Error(pgbouncerMissing());
  const server = new URL(SERVER_URL);
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'ers-pgbouncer-'));
  chmodSync(dir, 0o777);
  writeFileSync(path.join(dir, 'userlist.txt'), `"${server.username || 'postgres'}" ""\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `admin_users = ${server.username || 'postgres'}`,
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  for (const file of ['pgbouncer.ini', 'userlist.txt']) chmodSync(path.join(dir, file), 0o644);
  const asRoot = process.getuid?.() === 0;
  const command = asRoot
    ? ['runuser', ['-u', 'postgres', '--', PGBOUNCER, path.join(dir, 'pgbouncer.ini')]]
    : [PGBOUNCER, [path.join(dir, 'pgbouncer.ini')]];
  const child = spawn(command[0] as string, command[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForPort(port, child, () => output);
  const urlFor = (databaseName: string): string => {
    const url = new URL(SERVER_URL);
    url.port = String(port);
    url.pathname = `/${databaseName}`;
    return url.toString();
  };
  return {
    url: urlFor,
    async transactions(databaseName) {
      const admin = new pg.Client({ connectionString: urlFor('pgbouncer') });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ database: string; total_xact_count: string }>('SHOW STATS');
        return Number(rows.find((row) => row.database === databaseName)?.total_xact_count ?? 0);
      } finally {
        await admin.end();
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Only for a failure message: what PgBouncer logged. */
export function pgbouncerVersion(): string {
  return PGBOUNCER ? (execFileSync(PGBOUNCER, ['--version']).toString().split('\n')[0] ?? '') : '';
}
