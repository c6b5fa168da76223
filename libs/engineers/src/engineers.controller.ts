import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { Problems } from '@app/http';

import {
  AvailableEngineersQueryDto,
  CreateEngineerDto,
  EngineerIdParam,
  EngineerPageDto,
  ListEngineersQueryDto,
  UpdateEngineerDto,
} from './dto/engineer.dto.js';
import { EngineerView } from './engineer.view.js';
import { EngineersService } from './engineers.service.js';

@ApiTags('engineers')
@Controller('engineers')
export class EngineersController {
  constructor(private readonly engineers: EngineersService) {}

  @Post()
  @Allow(Permission.EngineersManage)
  @ApiOperation({
    operationId: 'createEngineer',
    summary: 'Create an engineer',
    description:
      'Email and expertise tags are lower-cased; tags are de-duplicated. The email must be unique among all engineers, deleted ones included.',
  })
  @ApiCreatedResponse({ type: EngineerView })
  @Problems({ 400: ['EMAIL_DOMAIN_NOT_ALLOWED'], 409: ['EMAIL_TAKEN'] })
  create(@CurrentActor() actor: Actor, @Body() body: CreateEngineerDto): Promise<EngineerView> {
    return this.engineers.create(actor, body);
  }

  @Get()
  @Allow(Permission.EngineersReadAll)
  @ApiOperation({
    operationId: 'listEngineers',
    summary: 'List engineers',
    description: 'Filtered and paged; ordered by createdAt, then id. Deleted engineers only with includeDeleted=true.',
  })
  @ApiOkResponse({ type: EngineerPageDto })
  list(@Query() query: ListEngineersQueryDto): Promise<EngineerPageDto> {
    return this.engineers.list(query);
  }

  @Get('available')
  @Allow(Permission.EngineersReadAll)
  @ApiOperation({
    operationId: 'listAvailableEngineers',
    summary: 'Eligible engineers in auto-assignment order',
    description: 'The engineers auto-assignment would consider, best first, at most `limit`.',
  })
  @ApiOkResponse({
    type: [EngineerView],
    description:
      'Active, not deleted, below capacity and holding every requested tag; ordered by load ratio, then lastAssignedAt (never assigned first), then id',
  })
  available(@Query() query: AvailableEngineersQueryDto): Promise<EngineerView[]> {
    return this.engineers.available(query);
  }

  @Get('me')
  @Allow(Permission.EngineersReadSelf)
  @ApiOperation({
    operationId: 'getOwnEngineer',
    summary: "The calling engineer's own record",
    description: 'For the engineer role only; 404 when the token sub is not a live engineer.',
  })
  @ApiOkResponse({ type: EngineerView })
  @Problems({ 404: ['NOT_FOUND'] })
  me(@CurrentActor() actor: Actor): Promise<EngineerView> {
    return this.engineers.me(actor);
  }

  @Get(':id')
  @Allow(Permission.EngineersReadAll, Permission.EngineersReadSelf)
  @ApiOperation({
    operationId: 'getEngineer',
    summary: 'One engineer',
    description: "Deleted engineers too (with deletedAt). An engineer may read only their own record: another engineer's id is 404.",
  })
  @ApiOkResponse({ type: EngineerView })
  @Problems({ 404: ['NOT_FOUND'] })
  get(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam): Promise<EngineerView> {
    return this.engineers.get(actor, id);
  }

  @Patch(':id')
  @Allow(Permission.EngineersManage)
  @ApiOperation({
    operationId: 'updateEngineer',
    summary: 'Change an engineer',
    description: 'Any of name, expertise (replaces the list), maxConcurrentReviews and status.',
  })
  @ApiOkResponse({ type: EngineerView, description: 'The engineer after the change (unchanged, and not audited, when no value differs)' })
  @Problems({ 404: ['NOT_FOUND'], 409: ['ENGINEER_DELETED', 'CAPACITY_BELOW_OPEN_REVIEWS'] })
  update(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam, @Body() body: UpdateEngineerDto): Promise<EngineerView> {
    return this.engineers.update(actor, id, body);
  }
}
