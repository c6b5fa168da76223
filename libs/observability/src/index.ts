export * from './logging.module.js';
export * from './observability.module.js';
export * from './request-observer.js';
export * from './review-metrics.js';
export * from './scheduler-metrics.js';
export * from './webhook-metrics.js';
export * from './tracing.js';
export * from './database-gauges.js';
