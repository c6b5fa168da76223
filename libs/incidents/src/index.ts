export * from './dto/incident.dto.js';
export * from './incident.view.js';
export * from './incidents.module.js';
export * from './incidents.repository.js';
export * from './incident.errors.js';
