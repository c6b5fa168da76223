export * from './audit.module.js';
export * from './audit.service.js';
export * from './audit.types.js';
export * from './audit-chain.js';
