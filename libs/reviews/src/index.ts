export * from './assignment.service.js';
export * from './decision-waiters.js';
export * from './review.errors.js';
export * from './review-work.service.js';
export * from './review-state-machine.js';
export * from './review.view.js';
export * from './reviews.module.js';
export * from './reviews.repository.js';
