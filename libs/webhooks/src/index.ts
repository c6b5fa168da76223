export * from './outbox.service.js';
export * from './webhook-event.js';
export * from './webhooks.module.js';
export * from './event-sequencer.js';
export * from './webhook.errors.js';
export * from './outbox.purger.js';
// The retention statements, for the test that checks their plans.
export { PURGE_EVENTS_SQL } from './event-log.repository.js';
export { PURGE_DELIVERED_SQL } from './outbox.repository.js';
