import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { DrainEngineerDto, EngineerIdParam, EngineerView } from '@app/engineers';
import { Problems } from '@app/http';

import { type DrainResult, EngineerDrainService } from './engineer-drain.service.js';

export class DrainMoveView {
  @ApiProperty({ format: 'uuid', description: 'The review taken from the drained engineer (now cancelled)' }) fromReviewId!: string;
  @ApiProperty({ format: 'uuid', description: 'Its replacement' }) toReviewId!: string;
  @ApiProperty({ format: 'uuid', description: 'The engineer who holds the replacement' }) engineerId!: string;
}

export class DrainResultView {
  @ApiProperty({ type: EngineerView, description: 'The engineer after all moves' }) engineer!: EngineerView;
  @ApiProperty({ type: [DrainMoveView], description: 'Reviews moved, oldest first' }) reassigned!: DrainMoveView[];
  @ApiProperty({ type: [String], format: 'uuid', description: 'Reviews nobody could take; they stay with the drained engineer' })
  notReassigned!: string[];
}

@ApiTags('engineers')
@Controller('engineers')
export class EngineerDrainController {
  constructor(private readonly drains: EngineerDrainService) {}

  @Post(':id/drain')
  @HttpCode(200)
  @Allow(Permission.EngineersManage)
  @ApiOperation({
    operationId: 'drainEngineer',
    summary: 'Take an engineer off duty and move their open work',
    description:
      "Sets the status (on_leave or offline), then reassigns each of the engineer's assigned and in_progress reviews, oldest first, " +
      'to the engineer auto-assignment would pick; reviews nobody can take stay where they are.',
  })
  @ApiOkResponse({ type: DrainResultView })
  @Problems({ 404: ['NOT_FOUND'], 409: ['ENGINEER_DELETED'] })
  drain(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam, @Body() body: DrainEngineerDto): Promise<DrainResult> {
    return this.drains.drain(actor, id, body);
  }
}
