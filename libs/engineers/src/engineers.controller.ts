import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';

import { AvailableEngineersQueryDto, CreateEngineerDto, EngineerIdParam, EngineerPageDto, ListEngineersQueryDto, UpdateEngineerDto } from './dto/engineer.dto.js';
import { EngineerView } from './engineer.view.js';
import { EngineersService } from './engineers.service.js';

const INVALID_INPUT = 'VALIDATION_FAILED: a body field, query parameter or the path id is invalid, or an unknown field was sent (errors[].field names it)';

@ApiTags('engineers')
@Controller('engineers')
export class EngineersController {
  constructor(private readonly engineers: EngineersService) {}

  @Post()
  @Allow(Permission.EngineersManage)
  @ApiOperation({ summary: 'Create an engineer' })
  @ApiCreatedResponse({ type: EngineerView })
  @ApiBadRequestResponse({ description: `${INVALID_INPUT}; EMAIL_DOMAIN_NOT_ALLOWED when ALLOWED_EMAIL_DOMAINS is set and excludes the email's domain` })
  @ApiConflictResponse({ description: 'EMAIL_TAKEN: another engineer (deleted ones included) has this email' })
  create(@CurrentActor() actor: Actor, @Body() body: CreateEngineerDto): Promise<EngineerView> {
    return this.engineers.create(actor, body);
  }

  @Get()
  @Allow(Permission.EngineersReadAll)
  @ApiOperation({ summary: 'List engineers, ordered by createdAt then id' })
  @ApiOkResponse({ type: EngineerPageDto })
  @ApiBadRequestResponse({ description: INVALID_INPUT })
  list(@Query() query: ListEngineersQueryDto): Promise<EngineerPageDto> {
    return this.engineers.list(query);
  }

  @Get('available')
  @Allow(Permission.EngineersReadAll)
  @ApiOperation({ summary: 'Eligible engineers in auto-assignment order' })
  @ApiOkResponse({
    type: [EngineerView],
    description: 'Active, not deleted, below capacity and holding every requested tag; ordered by load ratio, then lastAssignedAt (never assigned first), then id',
  })
  @ApiBadRequestResponse({ description: INVALID_INPUT })
  available(@Query() query: AvailableEngineersQueryDto): Promise<EngineerView[]> {
    return this.engineers.available(query);
  }

  @Get('me')
  @Allow(Permission.EngineersReadSelf)
  @ApiOperation({ summary: "The calling engineer's own record" })
  @ApiOkResponse({ type: EngineerView })
  @ApiNotFoundResponse({ description: 'NOT_FOUND: the token sub is not a live engineer' })
  me(@CurrentActor() actor: Actor): Promise<EngineerView> {
    return this.engineers.me(actor);
  }

  @Get(':id')
  @Allow(Permission.EngineersReadAll, Permission.EngineersReadSelf)
  @ApiOperation({ summary: 'One engineer, deleted ones included (with deletedAt)' })
  @ApiOkResponse({ type: EngineerView })
  @ApiBadRequestResponse({ description: INVALID_INPUT })
  @ApiNotFoundResponse({ description: "NOT_FOUND (also for another engineer's id when called as an engineer)" })
  get(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam): Promise<EngineerView> {
    return this.engineers.get(actor, id);
  }

  @Patch(':id')
  @Allow(Permission.EngineersManage)
  @ApiOperation({ summary: 'Change name, expertise, maxConcurrentReviews or status' })
  @ApiOkResponse({ type: EngineerView, description: 'The engineer after the change (unchanged, and not audited, when no value differs)' })
  @ApiBadRequestResponse({ description: INVALID_INPUT })
  @ApiNotFoundResponse({ description: 'NOT_FOUND' })
  @ApiConflictResponse({ description: 'In order: ENGINEER_DELETED, CAPACITY_BELOW_OPEN_REVIEWS' })
  update(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam, @Body() body: UpdateEngineerDto): Promise<EngineerView> {
    return this.engineers.update(actor, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Allow(Permission.EngineersManage)
  @ApiOperation({ summary: 'Soft delete: deletedAt set, status offline, history kept' })
  @ApiNoContentResponse({ description: 'Deleted (also when it already was: then nothing changes)' })
  @ApiBadRequestResponse({ description: INVALID_INPUT })
  @ApiNotFoundResponse({ description: 'NOT_FOUND' })
  @ApiConflictResponse({ description: 'ENGINEER_HAS_OPEN_REVIEWS' })
  remove(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam): Promise<void> {
    return this.engineers.remove(actor, id);
  }
}
