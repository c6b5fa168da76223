import { Controller, Delete, HttpCode, Param } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { EngineerIdParam } from '@app/engineers';
import { Problems } from '@app/http';

import { EngineerRemovalService } from './engineer-removal.service.js';

@ApiTags('engineers')
@Controller('engineers')
export class EngineerRemovalController {
  constructor(private readonly removals: EngineerRemovalService) {}

  @Delete(':id')
  @HttpCode(204)
  @Allow(Permission.EngineersManage)
  @ApiOperation({
    operationId: 'deleteEngineer',
    summary: 'Delete an engineer (soft)',
    description: 'Sets deletedAt and status offline; history is kept. Deleting an already deleted engineer changes nothing.',
  })
  @ApiNoContentResponse({ description: 'Deleted (also when it already was: then nothing changes)' })
  @Problems({ 404: ['NOT_FOUND'], 409: ['ENGINEER_HAS_OPEN_REVIEWS'] })
  remove(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam): Promise<void> {
    return this.removals.remove(actor, id);
  }
}
