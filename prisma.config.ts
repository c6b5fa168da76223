import { defineConfig } from 'prisma/config';

import { schemaEngineBinary } from '@app/prisma-engine/schema-engine-path';

// No native schema engine can be downloaded here: point the CLI at our wasm-backed drop-in
// (the @app/prisma-engine workspace package). Anyone with the native engine can still override the variable.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= schemaEngineBinary;

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/engineer_review',
  },
});
