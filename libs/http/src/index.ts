export * from './domain-error.js';
export * from './dto-transforms.js';
export * from './http.module.js';
export * from './http-setup.js';
export * from './pagination.js';
export * from './problem.js';
export * from './request-context.js';
export * from './route-catalog.js';
