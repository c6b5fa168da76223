import type { INestApplicationContext } from '@nestjs/common';
import type pg from 'pg';
import { inject } from 'vitest';

import { loadAppConfig } from '@app/config';

import { createApp } from '../../apps/api/src/create-app.js';
import { cloneTemplate, databaseUrl, dropDatabase, testPool } from './database.js';
import { TEST_ENV } from './test-app.js';

/**
 * The integration tier's fixture: the application's providers, initialised but not listening, on a
 * clone of the migrated template database, and raw SQL on that database. Tests call use cases and
 * repositories directly (`app.get(…)`) and look at or corrupt rows with `sql`.
 */
export interface TestServices {
  app: INestApplicationContext;
  sql: pg.Pool;
  databaseName: string;
  close(): Promise<void>;
}

export async function startTestServices(env: Record<string, string> = {}): Promise<TestServices> {
  const databaseName = await cloneTemplate(inject('templateDatabase'));
  const sql = testPool(databaseName, 4);
  const app = await createApp(loadAppConfig({ ...TEST_ENV, DATABASE_URL: databaseUrl(databaseName), ...env }));
  await app.init();
  return {
    app,
    sql,
    databaseName,
    async close() {
      await app.close();
      await sql.end();
      await dropDatabase(databaseName);
    },
  };
}

/** Rows written straight into the tables, for tests about the database and the code above it. */
export class SqlFixtures {
  constructor(private readonly sql: pg.Pool) {}

  async engineer({ max = 3, count = 0 }: { max?: number; count?: number } = {}): Promise<string> {
    const { rows } = await this.sql.query<{ id: string }>(
      `INSERT INTO engineers (name, email, max_concurrent_reviews, current_review_count)
       VALUES ('Fixture', 'fixture-' || gen_random_uuid() || '@example.com', $1, $2) RETURNING id`,
      [max, count],
    );
    return rows[0]!.id;
  }

  async incident(): Promise<string> {
    const { rows } = await this.sql.query<{ id: string }>(
      `INSERT INTO incidents (title, severity, ai_proposal) VALUES ('Fixture', 'low', 'Nothing') RETURNING id`,
    );
    return rows[0]!.id;
  }

  /** A review as the service would write it; an open one is also the incident's open review and counted on the engineer. */
  async review(
    incidentId: string,
    engineerId: string,
    status: 'assigned' | 'in_progress' | 'submitted' | 'accepted' | 'rejected' | 'cancelled',
  ): Promise<string> {
    const { rows } = await this.sql.query<{ id: string }>(
      `INSERT INTO reviews (incident_id, engineer_id, status, expected_completion_at, assignment_strategy, assigned_by)
       VALUES ($1, $2, $3::review_status, now() + interval '1 hour', 'manual', 'test') RETURNING id`,
      [incidentId, engineerId, status],
    );
    if (['assigned', 'in_progress', 'submitted'].includes(status)) {
      await this.sql.query('UPDATE engineers SET current_review_count = current_review_count + 1 WHERE id = $1', [engineerId]);
      await this.sql.query('UPDATE incidents SET open_review_id = $2 WHERE id = $1', [incidentId, rows[0]!.id]);
    }
    return rows[0]!.id;
  }
}
