#!/usr/bin/env node
// `npm run db:migrate` (the `prisma-engine-migrate` command): applies the pending migrations of the
// project in the working directory to DATABASE_DIRECT_URL, or DATABASE_URL when that is unset.
import { applyMigrations } from './migrate.mjs';

// Migrations take a session-level advisory lock: through a transaction-mode pooler it could be
// released or taken twice, so the direct connection is used when there is one.
const url = process.env.DATABASE_DIRECT_URL?.trim() || process.env.DATABASE_URL?.trim();
if (!url) {
  console.error('DATABASE_URL (or DATABASE_DIRECT_URL) is required for db:migrate');
  process.exit(1);
}
const applied = await applyMigrations(url);
console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'No pending migrations.');
// The wasm engine leaves a 10 s timer behind that would keep the process alive.
process.exit(0);
