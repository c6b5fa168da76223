import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { DrainEngineerDto, EngineerIdParam } from '@app/engineers';

import { AssignmentService, type DrainResult } from './assignment.service.js';

@ApiTags('engineers')
@Controller('engineers')
export class EngineerDrainController {
  constructor(private readonly assignments: AssignmentService) {}

  @Post(':id/drain')
  @HttpCode(200)
  @Allow(Permission.EngineersManage)
  @ApiOkResponse({ description: '{ engineer, reassigned: [{ fromReviewId, toReviewId, engineerId }], notReassigned: [reviewId] }' })
  @ApiConflictResponse({ description: 'ENGINEER_DELETED' })
  drain(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam, @Body() body: DrainEngineerDto): Promise<DrainResult> {
    return this.assignments.drain(actor, id, body);
  }
}
