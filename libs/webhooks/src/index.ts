export * from './outbox.service.js';
export * from './webhook-event.js';
export * from './webhooks.module.js';
export * from './event-sequencer.js';
export * from './webhook.errors.js';
export * from './outbox.purger.js';
