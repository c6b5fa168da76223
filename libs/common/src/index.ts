export * from './constraint-errors.js';
export * from './domain-error.js';
export * from './error-codes.js';
