import 'reflect-metadata';

import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

import { loadAppConfig } from '@app/config';

import { createApp } from './create-app.js';

/**
 * Writes the OpenAPI document exactly as the service serves it at /docs-json, without a database:
 * the application is created but never initialised (only Fastify's plugins load), and only its
 * HTTP server is started, on a loopback port, for this one request. The configuration is fixed so that the caller's
 * environment cannot change the document.
 */
async function main(file: string | undefined): Promise<void> {
  if (!file) throw new Error('usage: openapi-document <output.json>');
  const config = loadAppConfig({
    NODE_ENV: 'test',
    DATABASE_URL: 'postgresql://openapi@127.0.0.1:1/unused',
    JWT_SECRET: 'openapi-document-generation-only-0123456789',
    LOG_LEVEL: 'silent',
    SCHEDULER_ENABLED: 'false',
  });
  const app = await createApp(config);
  // Fastify's plugins (Swagger UI's static files among them) load now; Nest's lifecycle does not run.
  await app.getHttpAdapter().getInstance().ready();
  const server = app.getHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/docs-json`);
    if (!res.ok) throw new Error(`GET /docs-json answered ${res.status}`);
    writeFileSync(file, `${JSON.stringify(await res.json(), null, 2)}\n`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await app.close();
  }
}

await main(process.argv[2]);
