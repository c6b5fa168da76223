import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { NoBody } from '@app/http';

import { type WorkloadReport, WorkloadService } from './workload.service.js';

export class CounterDriftView {
  @ApiProperty({ format: 'uuid' }) engineerId!: string;
  @ApiProperty({ type: 'integer', description: 'currentReviewCount as stored' }) counter!: number;
  @ApiProperty({ type: 'integer', description: 'The number of open reviews' }) actual!: number;
}

export class WorkloadReportView {
  @ApiProperty({ type: 'integer', description: 'Every engineer, deleted ones included' }) engineersChecked!: number;
  @ApiProperty({ type: [CounterDriftView] }) drifted!: CounterDriftView[];
}

@ApiTags('admin')
@Controller('admin/workload')
export class WorkloadController {
  constructor(private readonly workload: WorkloadService) {}

  @Get('drift')
  @Allow(Permission.WorkloadManage)
  @ApiOperation({
    operationId: 'getWorkloadDrift',
    summary: 'Find workload counters that disagree with the open reviews',
    description: "Compares every engineer's currentReviewCount with the number of their open reviews; changes nothing.",
  })
  @ApiOkResponse({ type: WorkloadReportView })
  drift(): Promise<WorkloadReport> {
    return this.workload.drift();
  }

  @Post('reconcile')
  @NoBody()
  @HttpCode(200)
  @Allow(Permission.WorkloadManage)
  @ApiOperation({
    operationId: 'reconcileWorkload',
    summary: 'Repair drifted workload counters',
    description:
      'Sets each drifted counter to the number of open reviews, with one workload.reconciled audit entry per repair. Takes no body.',
  })
  @ApiOkResponse({ type: WorkloadReportView, description: 'The counters that were repaired' })
  reconcile(@CurrentActor() actor: Actor): Promise<WorkloadReport> {
    return this.workload.reconcile(actor);
  }
}
