export * from './assign-rate-limit.js';
export * from './auth.module.js';
export * from './caller.js';
export * from './decorators.js';
export * from './guards.js';
export * from './jwt.strategy.js';
export * from './permissions.js';
export * from './rate-limit-store.js';
