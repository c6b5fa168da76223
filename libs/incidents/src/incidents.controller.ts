import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { overrideResponse } from '@app/http';

import { ChangeIncidentStatusDto, CreateIncidentDto, IncidentIdParam, IncidentPageDto, ListIncidentsQueryDto } from './dto/incident.dto.js';
import { IncidentView } from './incident.view.js';
import { IncidentsService } from './incidents.service.js';

const INVALID_INPUT = 'VALIDATION_FAILED: a body field, query parameter or the path id is invalid, or an unknown field was sent (errors[].field names it)';

@ApiTags('incidents')
@Controller('incidents')
export class IncidentsController {
  constructor(private readonly incidents: IncidentsService) {}

  @Post()
  @Allow(Permission.IncidentsWrite)
  @ApiOperation({ summary: 'Record a detected incident (idempotent on externalRef)' })
  @ApiCreatedResponse({ type: IncidentView })
  @ApiOkResponse({ type: IncidentView, description: 'An incident with this externalRef already exists; it is returned unchanged' })
  @ApiBadRequestResponse({ description: INVALID_INPUT })
  async create(@CurrentActor() actor: Actor, @Body() body: CreateIncidentDto, @Res({ passthrough: true }) res: Response): Promise<IncidentView> {
    const { incident, created } = await this.incidents.create(actor, body);
    overrideResponse(res, created ? 201 : 200);
    return incident;
  }

  @Get()
  @Allow(Permission.IncidentsReadAll)
  @ApiOperation({ summary: 'List incidents, newest first' })
  @ApiOkResponse({ type: IncidentPageDto, description: 'Ordered by createdAt, then id, both descending' })
  @ApiBadRequestResponse({ description: INVALID_INPUT })
  list(@Query() query: ListIncidentsQueryDto): Promise<IncidentPageDto> {
    return this.incidents.list(query);
  }

  @Patch(':id/status')
  @Allow(Permission.IncidentsWrite)
  @ApiOperation({ summary: 'Manual status moves: detected → analyzing, approved → resolved' })
  @ApiOkResponse({ type: IncidentView })
  @ApiBadRequestResponse({ description: `${INVALID_INPUT}; a status other than analyzing or resolved is 400` })
  @ApiNotFoundResponse({ description: 'NOT_FOUND' })
  @ApiConflictResponse({ description: 'INVALID_TRANSITION: the incident is not in the status the move starts from (detail names both)' })
  changeStatus(@CurrentActor() actor: Actor, @Param() { id }: IncidentIdParam, @Body() body: ChangeIncidentStatusDto): Promise<IncidentView> {
    return this.incidents.changeStatus(actor, id, body.status);
  }
}
