// HAProxy in front of the replicas, as a production load balancer would be: round robin, health
// checks on /health/ready every 300 ms (a replica is out after two failed checks, back after two good
// ones, well within the service's 5 s SHUTDOWN_DELAY_SECONDS), and a connection that cannot be made
// is retried on another replica. A check may take 3 s: on a saturated machine a slower answer is
// still a live replica, and marking every replica down would make HAProxy itself answer 503.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { waitForOk } from './http-client.mjs';
import { freePort } from './replicas.mjs';

const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((candidate) => existsSync(candidate));

export function haproxyVersion() {
  if (!HAPROXY) return null;
  return spawnSync(HAPROXY, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? null;
}

function configuration(port, replicaPorts) {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout check 3s',
    '  retries 3',
    '  option redispatch',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk GET /health/ready',
    '  http-check expect status 200',
    '  default-server inter 300ms fall 2 rise 2',
    ...replicaPorts.map((replicaPort, index) => `  server replica${index} 127.0.0.1:${replicaPort} check`),
    '',
  ].join('\n');
}

/** Starts HAProxy in the foreground for the given replica ports; resolves to { url, stop() } once it routes. */
export async function startHaproxy(workDir, replicaPorts) {
  if (!HAPROXY) throw new Error('haproxy is not installed (apt-get install haproxy)');
  const port = await freePort();
  const file = path.join(workDir, 'haproxy.cfg');
  writeFileSync(file, configuration(port, replicaPorts));
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const ready = await Promise.race([
    waitForOk(url, '/health/ready', 15_000),
    new Promise((resolve) => child.once('exit', () => resolve(null))),
  ]);
  if (ready === null) throw new Error(`haproxy did not start: ${stderr}`);
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
