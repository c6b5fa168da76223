import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { Registry } from 'prom-client';

import { DatabaseGauges } from './database-gauges.js';
import { HttpMetrics } from './http-metrics.js';
import { MetricsController } from './metrics.controller.js';
import { metricsRegistryProvider } from './metrics-registry.js';
import { MetricsTokenGuard } from './metrics-token.guard.js';
import { RequestObserver } from './request-observer.js';
import { ReviewMetrics } from './review-metrics.js';
import { RouteLabels } from './route-labels.js';
import { SchedulerMetrics } from './scheduler-metrics.js';
import { TraceFlusher } from './tracing.js';
import { WebhookMetrics } from './webhook-metrics.js';

/**
 * Metrics and request observation. The Prometheus module only mounts our controller at /metrics:
 * its default metrics and controller use prom-client's global registry, while every application
 * instance here has its own (see metrics-registry.ts), which the controller serves.
 */
@Global()
@Module({
  imports: [PrometheusModule.register({ path: 'metrics', controller: MetricsController, defaultMetrics: { enabled: false } })],
  providers: [
    metricsRegistryProvider,
    MetricsTokenGuard,
    ReviewMetrics,
    SchedulerMetrics,
    WebhookMetrics,
    HttpMetrics,
    RouteLabels,
    RequestObserver,
    DatabaseGauges,
    TraceFlusher,
  ],
  exports: [Registry, DatabaseGauges, ReviewMetrics, SchedulerMetrics, WebhookMetrics, RequestObserver],
})
export class ObservabilityModule {}
