import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { overrideResponse } from '@app/http';

import { ChangeIncidentStatusDto, CreateIncidentDto, IncidentIdParam, IncidentPageDto, ListIncidentsQueryDto } from './dto/incident.dto.js';
import { IncidentView } from './incident.view.js';
import { IncidentsService } from './incidents.service.js';

@ApiTags('incidents')
@Controller('incidents')
export class IncidentsController {
  constructor(private readonly incidents: IncidentsService) {}

  @Post()
  @Allow(Permission.IncidentsWrite)
  @ApiCreatedResponse({ type: IncidentView })
  @ApiOkResponse({ type: IncidentView, description: 'An incident with this externalRef already exists; it is returned unchanged' })
  async create(@CurrentActor() actor: Actor, @Body() body: CreateIncidentDto, @Res({ passthrough: true }) res: Response): Promise<IncidentView> {
    const { incident, created } = await this.incidents.create(actor, body);
    if (!created) overrideResponse(res, 200);
    return incident;
  }

  @Get()
  @Allow(Permission.IncidentsReadAll)
  @ApiOkResponse({ type: IncidentPageDto, description: 'Newest first' })
  list(@Query() query: ListIncidentsQueryDto): Promise<IncidentPageDto> {
    return this.incidents.list(query);
  }

  @Patch(':id/status')
  @Allow(Permission.IncidentsWrite)
  @ApiOkResponse({ type: IncidentView })
  @ApiConflictResponse({ description: 'INVALID_TRANSITION' })
  changeStatus(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam, @Body() body: ChangeIncidentStatusDto): Promise<IncidentView> {
    return this.incidents.changeStatus(actor, id, body.status);
  }
}
