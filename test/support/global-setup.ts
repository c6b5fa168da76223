import type { TestProject } from 'vitest/node';

import { applyMigrations } from '@app/prisma-engine';

import { databaseUrl, dropDatabase, withAdmin } from './database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

interface SharedTemplate {
  name: Promise<string>;
  users: number;
}

const shared = globalThis as typeof globalThis & { ersTestTemplate?: SharedTemplate };

async function createTemplate(): Promise<string> {
  const template = `ers_template_${process.pid}`;
  await dropDatabase(template);
  await withAdmin((client) => client.query(`CREATE DATABASE "${template}"`));
  await applyMigrations(databaseUrl(template));
  // The schema engine leaves its connection to close in its own time, and while any session is on
  // the template every clone waits ("source database is being accessed by other users").
  await withAdmin((client) =>
    client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [template]),
  );
  return template;
}

/**
 * Migrates one template database per run; every suite clones it, and all are dropped at the end.
 * The integration and e2e projects each run this setup, at the same time and in the same process:
 * they share one template (two schema engines migrating at once crash), and the last to finish drops it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared.ersTestTemplate ??= { name: createTemplate(), users: 0 };
  const state = shared.ersTestTemplate;
  state.users += 1;
  const template = await state.name;
  project.provide('templateDatabase', template);
  return async () => {
    state.users -= 1;
    if (state.users > 0) return;
    shared.ersTestTemplate = undefined;
    const clones = await withAdmin((client) =>
      client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [`${template}_c_`]),
    );
    for (const { datname } of clones.rows) await dropDatabase(datname);
    await dropDatabase(template);
  };
}
