// Where the drop-in schema engine lives, for PRISMA_SCHEMA_ENGINE_BINARY. A module of its own so that
// reading the path (prisma.config.ts, on every CLI command) loads none of the engine.
import { fileURLToPath } from 'node:url';

export const schemaEngineBinary = fileURLToPath(new URL('./schema-engine.mjs', import.meta.url));
