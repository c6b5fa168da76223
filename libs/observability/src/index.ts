export * from './logging.module.js';
export * from './observability.module.js';
export * from './review-metrics.js';
