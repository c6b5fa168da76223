import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';

import { Allow, Permission } from '@app/auth';
import { NoBody } from '@app/http';

import { EscalationService } from './escalation.service.js';

export class EscalationRunView {
  @ApiProperty({
    type: 'integer',
    description:
      'Escalation levels recorded by this pass: each level counts once, so a review taken from level 0 to level 2 in one pass counts 2',
    minimum: 0,
  })
  escalated!: number;

  @ApiProperty({
    type: 'integer',
    description: 'Level-2 reviews reassigned to another engineer by this pass (ESCALATION_AUTO_REASSIGN=true)',
    minimum: 0,
  })
  reassigned!: number;
}

@ApiTags('sla')
@Controller('sla/escalations')
export class EscalationController {
  constructor(private readonly escalations: EscalationService) {}

  @Post('run')
  @NoBody()
  @HttpCode(200)
  @Allow(Permission.SlaRun)
  @ApiOperation({
    operationId: 'runEscalations',
    summary: 'Run one SLA escalation pass now',
    description:
      'The same pass the scheduler runs: level 1, level 2 (with auto-reassign when enabled) and decision-overdue marks, each exactly once per review and level. ' +
      'Starts after any pass already running in this process.',
  })
  @ApiOkResponse({ type: EscalationRunView })
  async run(): Promise<EscalationRunView> {
    const { escalated, reassigned } = await this.escalations.runPass();
    return { escalated, reassigned };
  }
}
