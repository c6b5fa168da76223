import path from 'node:path';

import { defineConfig } from 'prisma/config';

// No native schema engine can be downloaded here: point the CLI at our wasm-backed drop-in
// (tools/prisma-engine). Anyone with the native engine can still override the variable.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.resolve(import.meta.dirname, 'tools/prisma-engine/schema-engine.mjs');

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/engineer_review',
  },
});
