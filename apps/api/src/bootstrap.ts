import 'reflect-metadata';

import { ConfigError, loadAppConfig } from '@app/config';

import { createApp } from './create-app.js';
import { stopGracefullyOnSignals } from './graceful-shutdown.js';
import { applyPendingMigrations } from './migrate-on-start.js';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadAppConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  if (config.migrateOnStart) await applyPendingMigrations(config.databaseDirectUrl);
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  stopGracefullyOnSignals(app, config.shutdownDelaySeconds);
  const address = app.getHttpServer().address() as { port: number } | null;
  console.info(
    JSON.stringify({ level: 'info', msg: `Engineer Review Service listening on ${config.host}:${address?.port ?? config.port}` }),
  );
}

await bootstrap();
