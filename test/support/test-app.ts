import type { AddressInfo } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import request from 'supertest';
import { inject } from 'vitest';

import { type AppConfig, loadAppConfig } from '@app/config';

import { createApp } from '../../apps/api/src/create-app.js';
import { cloneTemplate, databaseUrl, dropDatabase, testPool } from './database.js';
import { checkResponsesAgainstDocument, loadServedDocument } from './openapi-validation.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** Base URL of the real listening server, for concurrent requests with fetch. */
  baseUrl: string;
  http: ReturnType<typeof request>;
  /** Raw SQL on the suite's own database (for invariant checks and fixtures). */
  sql: pg.Pool;
  databaseName: string;
  close(): Promise<void>;
}

export const TEST_ENV = {
  NODE_ENV: 'test',
  JWT_SECRET: TEST_JWT_SECRET,
  LOG_LEVEL: 'silent',
  SCHEDULER_ENABLED: 'false',
  ASSIGN_RATE_LIMIT: '100000',
  // Concurrency tests queue dozens of transactions on one row on a shared, loaded machine: they test
  // who wins, not how long a lock may be waited for (the lock-wait tests set their own, short one).
  LOCK_TIMEOUT_MS: '14000',
};

/** A full application on its own clone of the migrated template database, listening on 127.0.0.1. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const databaseName = await cloneTemplate(inject('templateDatabase'));
  const sql = testPool(databaseName, 4);
  const t = await startAppOn(databaseName, sql, { DATABASE_POOL_MAX: '20', ...env });
  return {
    ...t,
    async close() {
      await t.close();
      await sql.end();
      await dropDatabase(databaseName);
    },
  };
}

/**
 * Another application (a second replica, or a restart) on an existing test database, configured
 * like startTestApp's; `sql` is the caller's pool. Its close() stops the application only, once.
 */
export async function startAppOn(databaseName: string, sql: pg.Pool, env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadAppConfig({ ...TEST_ENV, DATABASE_URL: databaseUrl(databaseName), DATABASE_POOL_MAX: '5', ...env });
  const app = await createApp(config);
  checkResponsesAgainstDocument(app);
  await app.listen(0, '127.0.0.1');
  await loadServedDocument(app);
  const { port } = app.getHttpServer().address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    http: request(app.getHttpServer()),
    sql,
    databaseName,
    close: () => (closing ??= app.close()),
  };
}

export function token(claims: { sub?: string; roles?: unknown; [claim: string]: unknown }, options: jwt.SignOptions = {}): string {
  return jwt.sign({ sub: 'admin-1', ...claims }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h', ...options });
}

export const adminToken = (sub = 'admin-1'): string => token({ sub, roles: ['admin'] });
export const serviceToken = (sub = 'pipeline-1'): string => token({ sub, roles: ['service'] });
export const engineerToken = (engineerId: string): string => token({ sub: engineerId, roles: ['engineer'] });
export const bearer = (value: string): { Authorization: string } => ({ Authorization: `Bearer ${value}` });
