import { Module } from '@nestjs/common';

import { AuditModule } from '@app/audit';

import { EngineersController } from './engineers.controller.js';
import { EngineersRepository } from './engineers.repository.js';
import { EngineersService } from './engineers.service.js';

@Module({
  imports: [AuditModule],
  controllers: [EngineersController],
  providers: [EngineersRepository, EngineersService],
  exports: [EngineersRepository],
})
export class EngineersModule {}
