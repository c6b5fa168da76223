import { randomUUID } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { databaseUrl, dropDatabase, withAdmin } from '../../../test/support/database.js';
import { shippedMigrations } from './health/migration-status.js';
import { applyPendingMigrations } from './migrate-on-start.js';

/** The advisory lock key Prisma's schema engine takes around a migration run. */
const PRISMA_MIGRATION_LOCK = 72707369;

describe('MIGRATE_ON_START', () => {
  const name = `ers_migrate_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  beforeAll(() => withAdmin((client) => client.query(`CREATE DATABASE "${name}"`)));
  afterAll(() => dropDatabase(name));

  it('waits for another process that holds the migration lock longer than the engine would (10 s), then applies', async () => {
    const other = new pg.Client({ connectionString: databaseUrl(name) });
    await other.connect();
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    try {
      await other.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATION_LOCK]);
      const release = setTimeout(() => void other.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATION_LOCK]), 12_000);
      const startedAt = Date.now();
      try {
        expect(await applyPendingMigrations(databaseUrl(name))).toEqual(shippedMigrations());
      } finally {
        clearTimeout(release);
      }
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(12_000);
      expect(info.mock.calls.map(([line]) => JSON.parse(String(line)).msg)).toContain(
        'Another process is applying migrations; waiting for it',
      );
      expect(await applyPendingMigrations(databaseUrl(name))).toEqual([]);
    } finally {
      info.mockRestore();
      await other.end();
    }
  }, 60_000);
});
