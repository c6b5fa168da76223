import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';

import { Draining } from '@app/http';

/** In-flight requests get this long to finish once the replica stops accepting; then their connections are cut. */
const IN_FLIGHT_LIMIT_MS = 30_000;
const IDLE_SWEEP_MS = 200;

function log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown> = {}): void {
  console.info(JSON.stringify({ level, msg, ...fields }));
}

/**
 * Stops accepting and resolves once every connection has closed: connections that go idle after
 * their current answer are closed as they do, and any still open after the limit are cut.
 */
async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweeper = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const cut = setTimeout(() => {
    log('warn', `Requests still in flight after ${IN_FLIGHT_LIMIT_MS / 1000} s: closing their connections`);
    server.closeAllConnections();
  }, IN_FLIGHT_LIMIT_MS);
  try {
    await closed;
  } finally {
    clearInterval(sweeper);
    clearTimeout(cut);
  }
}

/**
 * SIGTERM (or SIGINT) behind a load balancer that follows /health/ready: readiness turns 503 at once,
 * the replica keeps serving for `delaySeconds` while the balancer takes it out, then stops accepting
 * (ending decision waits and event streams), lets in-flight requests finish, and only then closes the scheduler, workers and database pools
 * (app.close()). Closing the pools first would fail the requests still running.
 */
export function stopGracefullyOnSignals(app: NestFastifyApplication, delaySeconds: number): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const startedAt = Date.now();
    const draining = app.get(Draining);
    draining.begin();
    log('info', `${signal}: readiness answers 503; serving ${delaySeconds} s more before closing`);
    await sleep(delaySeconds * 1000);
    draining.stopAccepting();
    await closeServer(app.getHttpServer() as Server);
    await app.close();
    log('info', `Stopped gracefully in ${Date.now() - startedAt} ms`);
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      stop(signal).catch((error: unknown) => {
        log('warn', `Graceful shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      });
    });
  }
}
