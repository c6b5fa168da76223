// The module graph of the libraries (docs/architecture.md, "Modules and the direction of their
// dependencies"): each library with the libraries it may import through its @app/* alias. Lower
// layers first, and a library lists only libraries above it in this table, so the graph has no
// cycle. eslint.config.js turns it into a no-restricted-imports rule per library (a forbidden import
// fails `npm run lint`); test/unit/module-graph.test.ts checks what lint cannot (every library
// placed, the order, the docs' table).

/** Libraries every other one may use; they import no feature library. */
export const INFRASTRUCTURE = ['common', 'config', 'database', 'http', 'observability'];

/** @type {Record<string, string[]>} */
export const MODULE_GRAPH = {
  common: [],
  config: ['common'],
  database: ['common', 'config'],
  http: ['common', 'config', 'database'],
  observability: ['common', 'config', 'database', 'http'],
  auth: ['common', 'config', 'database', 'http'],
  audit: ['common', 'config', 'database', 'http', 'observability', 'auth'],
  engineers: ['common', 'config', 'database', 'http', 'observability', 'auth', 'audit'],
  incidents: ['common', 'config', 'database', 'http', 'observability', 'auth', 'audit'],
  webhooks: ['common', 'config', 'database', 'http', 'observability', 'auth', 'engineers'],
  reviews: ['common', 'config', 'database', 'http', 'observability', 'auth', 'audit', 'engineers', 'incidents', 'webhooks'],
  sla: ['common', 'config', 'database', 'http', 'observability', 'auth', 'audit', 'engineers', 'incidents', 'webhooks', 'reviews'],
};

/** The libraries `module` may not import. */
export function forbiddenImports(module) {
  return Object.keys(MODULE_GRAPH).filter((other) => other !== module && !MODULE_GRAPH[module].includes(other));
}
