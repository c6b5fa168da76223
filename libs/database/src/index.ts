export * from './batched-delete.js';
export * from './columns.js';
export * from './database.module.js';
export * from './database-health.js';
export * from './database-notifications.js';
export * from './database.options.js';
export * from './database-error.js';
export * from './prisma.service.js';
export * from './retention-pass.js';
export * from './statement-steps.js';
export * from './transaction-runner.js';
export { Prisma } from './generated/prisma/client.js';
export type { PrismaClient } from './generated/prisma/client.js';
export {
  Approach,
  AssignmentStrategy,
  AuditAction,
  AuditEntityType,
  EngineerStatus,
  IncidentStatus,
  ReviewDecision,
  ReviewPriority,
  ReviewStatus,
  Severity,
} from './generated/prisma/enums.js';
