export * from './dto/engineer.dto.js';
export * from './engineer.errors.js';
export * from './engineer.view.js';
export * from './engineers.module.js';
export * from './engineers.repository.js';
export * from './engineers.service.js';
