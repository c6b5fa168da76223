import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { overrideResponse, Problems } from '@app/http';

import { ChangeIncidentStatusDto, CreateIncidentDto, IncidentIdParam, IncidentPageDto, ListIncidentsQueryDto } from './dto/incident.dto.js';
import { IncidentView } from './incident.view.js';
import { IncidentsService } from './incidents.service.js';

@ApiTags('incidents')
@Controller('incidents')
export class IncidentsController {
  constructor(private readonly incidents: IncidentsService) {}

  @Post()
  @Allow(Permission.IncidentsWrite)
  @ApiOperation({
    operationId: 'createIncident',
    summary: 'Record a detected incident',
    description: 'Idempotent on externalRef: a repeat returns the existing incident, unchanged, with 200. Starts in status detected.',
  })
  @ApiCreatedResponse({ type: IncidentView })
  @ApiOkResponse({ type: IncidentView, description: 'An incident with this externalRef already exists; it is returned unchanged' })
  async create(
    @CurrentActor() actor: Actor,
    @Body() body: CreateIncidentDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<IncidentView> {
    const { incident, created } = await this.incidents.create(actor, body);
    overrideResponse(res, created ? 201 : 200);
    return incident;
  }

  @Get()
  @Allow(Permission.IncidentsReadAll)
  @ApiOperation({
    operationId: 'listIncidents',
    summary: 'List incidents',
    description: 'Filtered by status and severity, paged, newest first.',
  })
  @ApiOkResponse({ type: IncidentPageDto, description: 'Ordered by createdAt, then id, both descending' })
  list(@Query() query: ListIncidentsQueryDto): Promise<IncidentPageDto> {
    return this.incidents.list(query);
  }

  @Patch(':id/status')
  @Allow(Permission.IncidentsWrite)
  @ApiOperation({
    operationId: 'changeIncidentStatus',
    summary: "Move an incident's status by hand",
    description: 'detected → analyzing and approved → resolved; any other target status is 400, a move from another status 409.',
  })
  @ApiOkResponse({ type: IncidentView })
  @Problems({ 404: ['NOT_FOUND'], 409: ['INVALID_TRANSITION'] })
  changeStatus(
    @CurrentActor() actor: Actor,
    @Param() { id }: IncidentIdParam,
    @Body() body: ChangeIncidentStatusDto,
  ): Promise<IncidentView> {
    return this.incidents.changeStatus(actor, id, body.status);
  }
}
