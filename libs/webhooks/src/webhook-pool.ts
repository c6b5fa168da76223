import { Logger, type Provider } from '@nestjs/common';
import pg from 'pg';

import { APP_CONFIG, type AppConfig } from '@app/config';

export const WEBHOOK_POOL = Symbol('WEBHOOK_POOL');

/**
 * graphile-worker needs one connection for LISTEN and one or two to fetch and finish jobs; the
 * delivery task's own queries share them (none is held while a request is in flight).
 */
export const WEBHOOK_POOL_SIZE = 3;

/**
 * The dispatcher's own small pool, apart from the API's: deliveries can neither exhaust the API's
 * connections nor wait for them. It connects lazily, so an application without WEBHOOK_URL never
 * opens it; WebhookDeliveryRunner ends it on shutdown.
 */
export const webhookPoolProvider: Provider = {
  provide: WEBHOOK_POOL,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig): pg.Pool => {
    const logger = new Logger('WebhookPool');
    const pool = new pg.Pool({
      // LISTEN and graphile-worker's session state need a real session, not a pooler's transaction.
      connectionString: config.databaseDirectUrl,
      max: WEBHOOK_POOL_SIZE,
      // Longer than the API's 5 s: under load a delivery run had better wait than fail and be retried.
      connectionTimeoutMillis: 10_000,
      // Bounds every statement, so a delivery job's run time (and thus its lock) stays bounded too.
      statement_timeout: 30_000,
      application_name: 'engineer-review-service:webhooks',
    });
    // A connection that fails while idle or while LISTENing must not crash the process; the worker reconnects.
    pool.on('error', (error) => logger.warn(`Idle webhook database connection failed: ${error.message}`));
    pool.on('connect', (client) => client.on('error', (error) => logger.warn(`Webhook database connection failed: ${error.message}`)));
    return pool;
  },
};
