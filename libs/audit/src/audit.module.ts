import { Module } from '@nestjs/common';

import { AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';
import { AuditChainService } from './audit-chain.service.js';

@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditService, AuditChainService],
  exports: [AuditService],
})
export class AuditModule {}
