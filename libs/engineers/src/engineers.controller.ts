import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';

import { AvailableEngineersQueryDto, CreateEngineerDto, EngineerIdParam, EngineerPageDto, ListEngineersQueryDto, UpdateEngineerDto } from './dto/engineer.dto.js';
import { EngineerView } from './engineer.view.js';
import { EngineersService } from './engineers.service.js';

@ApiTags('engineers')
@Controller('engineers')
export class EngineersController {
  constructor(private readonly engineers: EngineersService) {}

  @Post()
  @Allow(Permission.EngineersManage)
  @ApiCreatedResponse({ type: EngineerView })
  @ApiConflictResponse({ description: 'EMAIL_TAKEN' })
  create(@CurrentActor() actor: Actor, @Body() body: CreateEngineerDto): Promise<EngineerView> {
    return this.engineers.create(actor, body);
  }

  @Get()
  @Allow(Permission.EngineersReadAll)
  @ApiOkResponse({ type: EngineerPageDto })
  list(@Query() query: ListEngineersQueryDto): Promise<EngineerPageDto> {
    return this.engineers.list(query);
  }

  @Get('available')
  @Allow(Permission.EngineersReadAll)
  @ApiOkResponse({ type: [EngineerView], description: 'Eligible engineers by load ratio, then lastAssignedAt (never first), then id' })
  available(@Query() query: AvailableEngineersQueryDto): Promise<EngineerView[]> {
    return this.engineers.available(query);
  }

  @Get('me')
  @Allow(Permission.EngineersReadSelf)
  @ApiOkResponse({ type: EngineerView })
  @ApiNotFoundResponse({ description: 'NOT_FOUND: the token sub is not a live engineer' })
  me(@CurrentActor() actor: Actor): Promise<EngineerView> {
    return this.engineers.me(actor);
  }

  @Get(':id')
  @Allow(Permission.EngineersReadAll, Permission.EngineersReadSelf)
  @ApiOkResponse({ type: EngineerView })
  @ApiNotFoundResponse({ description: 'NOT_FOUND (also for another engineer\'s id)' })
  get(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam): Promise<EngineerView> {
    return this.engineers.get(actor, id);
  }

  @Patch(':id')
  @Allow(Permission.EngineersManage)
  @ApiOkResponse({ type: EngineerView })
  @ApiConflictResponse({ description: 'ENGINEER_DELETED, CAPACITY_BELOW_OPEN_REVIEWS' })
  update(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam, @Body() body: UpdateEngineerDto): Promise<EngineerView> {
    return this.engineers.update(actor, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Allow(Permission.EngineersManage)
  @ApiNoContentResponse({ description: 'Soft-deleted (also when already deleted)' })
  @ApiConflictResponse({ description: 'ENGINEER_HAS_OPEN_REVIEWS' })
  remove(@CurrentActor() actor: Actor, @Param() { id }: EngineerIdParam): Promise<void> {
    return this.engineers.remove(actor, id);
  }
}
