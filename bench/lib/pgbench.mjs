// Runs bench/pgbench/*.sql with pgbench against the scratch database and reads its figures: tps from
// its summary, cycle latency percentiles from its per-transaction log (one script run = one cycle).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { benchDir } from './paths.mjs';
import { summarize } from './stats.mjs';

export function pgbenchVersion() {
  const result = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return result.stdout.trim();
}

/**
 * `pgbench -n -c clients -j 2 -T seconds -M extended -f script` with -D variables. Extended protocol
 * (parse/bind/execute per statement, no prepared statements), like node-postgres under Prisma.
 */
export async function runPgbench({ databaseUrl, script, clients, seconds, variables, mode = 'extended' }) {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'ers-pgbench-'));
  const args = [
    '-n',
    '-r',
    '-c',
    String(clients),
    '-j',
    String(Math.min(2, clients)),
    '-T',
    String(seconds),
    '-M',
    mode,
    '--log',
    `--log-prefix=${path.join(logDir, 'tx')}`,
  ];
  args.push('-f', path.join(benchDir, 'pgbench', script));
  for (const [name, value] of Object.entries(variables)) args.push('-D', `${name}=${value}`);
  args.push(databaseUrl);
  try {
    const { code, stdout, stderr } = await new Promise((resolve, reject) => {
      const child = spawn('pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.stderr.on('data', (chunk) => (err += chunk));
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    });
    const tps = /^tps = ([0-9.]+) \(without initial connection time\)/m.exec(stdout);
    const processed = /^number of transactions actually processed: (\d+)/m.exec(stdout);
    const failed = /^number of failed transactions: (\d+)/m.exec(stdout);
    const latencies = [];
    for (const file of readdirSync(logDir)) {
      for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
        // client_id transaction_no time script_no time_epoch time_us [...]: time in µs, or "failed"/"skipped"
        const fields = line.split(' ');
        if (fields.length >= 6 && /^\d+$/.test(fields[2])) latencies.push(Number(fields[2]) / 1000);
      }
    }
    // -r: average latency per statement; COMMIT's share says how much of a cycle is waiting for WAL flushes.
    let statementsMs = 0;
    let commitMs = 0;
    for (const match of stdout.matchAll(/^\s+([0-9.]+)\s+\d+\s+(\S.*)$/gm)) {
      statementsMs += Number(match[1]);
      if (/^COMMIT/i.test(match[2])) commitMs += Number(match[1]);
    }
    const errors = stderr
      .split('\n')
      .filter((line) => /error|abort/i.test(line))
      .slice(0, 5);
    return {
      ok: code === 0 && tps !== null,
      exitCode: code,
      clients,
      seconds,
      cyclesPerSecond: tps ? Number(tps[1]) : null,
      cycles: processed ? Number(processed[1]) : null,
      failed: failed ? Number(failed[1]) : 0,
      cycleLatency: summarize(latencies),
      commitShare: statementsMs > 0 ? Math.round((1000 * commitMs) / statementsMs) / 1000 : null,
      errors,
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}
