export * from './escalation.controller.js';
export * from './escalation.scheduler.js';
export * from './escalation.service.js';
export * from './sla.module.js';
