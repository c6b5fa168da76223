import { defineConfig } from 'vitest/config';

// Three tiers, each a project (`npx vitest run --project unit`, or `npm run test:unit`):
// - unit: pure and fast, no database, no server: test/unit and the modules' own tests beside their
//   code (libs/**, apps/**, packages/**, tools/**).
// - integration: repositories, SQL and migrations on a real PostgreSQL (and Redis), no HTTP:
//   test/integration and, beside the code, files named *.integration.test.ts.
// - e2e: the service over HTTP (in-process or built), the console in a browser, the deployment files.
// integration and e2e clone a migrated template database that their global setup makes once per run.
const INTEGRATION_BESIDE_CODE = ['libs/**/*.integration.test.ts', 'apps/**/*.integration.test.ts', 'packages/**/*.integration.test.ts'];
const withDatabase = { globalSetup: ['test/support/global-setup.ts'] };

export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    env: { TZ: 'UTC', NODE_ENV: 'test' },
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'libs/**/*.test.ts',
            'apps/**/*.test.ts',
            'packages/**/*.test.ts',
            'tools/**/*.test.ts',
            'test/support/**/*.test.ts',
          ],
          exclude: INTEGRATION_BESIDE_CODE,
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts', ...INTEGRATION_BESIDE_CODE], ...withDatabase },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/console/**/*.test.ts'],
          ...withDatabase,
          // Every response an e2e test receives must be one the OpenAPI document describes.
          setupFiles: ['test/support/openapi-setup.ts'],
        },
      },
    ],
  },
});
