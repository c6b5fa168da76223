import type { Provider } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One registry per application instance, injected by its class. prom-client's global registry
 * would make a second application in the same process (the tests start many) fail on duplicate
 * metric names, and its scrape-time gauges would read the first application's database.
 */
export const metricsRegistryProvider: Provider = {
  provide: Registry,
  useFactory: (): Registry => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  },
};
