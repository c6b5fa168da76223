import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { NoBody } from '@app/http';

import { type WorkloadReport, WorkloadService } from './workload.service.js';

@ApiTags('admin')
@Controller('admin/workload')
export class WorkloadController {
  constructor(private readonly workload: WorkloadService) {}

  @Get('drift')
  @Allow(Permission.WorkloadManage)
  @ApiOkResponse({ description: '{ engineersChecked, drifted: [{ engineerId, counter, actual }] } over all engineers, deleted included' })
  drift(): Promise<WorkloadReport> {
    return this.workload.drift();
  }

  @Post('reconcile')
  @NoBody()
  @HttpCode(200)
  @Allow(Permission.WorkloadManage)
  @ApiOkResponse({ description: 'Same shape; the drifted counters were repaired, one workload.reconciled audit entry each' })
  reconcile(@CurrentActor() actor: Actor): Promise<WorkloadReport> {
    return this.workload.reconcile(actor);
  }
}
