export * from './auth.module.js';
export * from './caller.js';
export * from './decorators.js';
export * from './guards.js';
export * from './jwt.strategy.js';
export * from './permissions.js';
