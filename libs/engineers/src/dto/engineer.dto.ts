import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsEnum, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, MaxLength, Min } from 'class-validator';

import { EngineerStatus } from '@app/database';
import { IsTagList, NormalizeTags, OptionalField, PageQueryDto, QueryBool, QueryInt, Trim, TrimLowerCase } from '@app/http';

import { EngineerView } from '../engineer.view.js';

const STATUSES = Object.values(EngineerStatus);

export class CreateEngineerDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Ada Lovelace' })
  @Trim()
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({
    format: 'email',
    description: 'Lower-cased; unique among all engineers, deleted ones included',
    example: 'ada@example.com',
  })
  @TrimLowerCase()
  @IsString()
  @MaxLength(254)
  @IsEmail({}, { message: 'must be an email' })
  email!: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: 50,
    description: 'Tags of 1–64 chars, lower-cased and de-duplicated',
    default: [],
    example: ['postgres', 'kubernetes'],
  })
  @OptionalField()
  @NormalizeTags()
  @IsTagList()
  expertise?: string[];

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 50, default: 3 })
  @OptionalField()
  @IsInt()
  @Min(1)
  @Max(50)
  maxConcurrentReviews?: number;

  @ApiPropertyOptional({ enum: STATUSES, default: 'active' })
  @OptionalField()
  @IsEnum(EngineerStatus)
  status?: EngineerStatus;
}

export class UpdateEngineerDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @OptionalField()
  @Trim()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: 50,
    description: 'Replaces the list; tags of 1–64 chars, lower-cased and de-duplicated',
  })
  @OptionalField()
  @NormalizeTags()
  @IsTagList()
  expertise?: string[];

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 50,
    description: 'Below the open review count: 409 CAPACITY_BELOW_OPEN_REVIEWS',
  })
  @OptionalField()
  @IsInt()
  @Min(1)
  @Max(50)
  maxConcurrentReviews?: number;

  @ApiPropertyOptional({ enum: STATUSES })
  @OptionalField()
  @IsEnum(EngineerStatus)
  status?: EngineerStatus;
}

export class ListEngineersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: STATUSES })
  @IsOptional()
  @IsEnum(EngineerStatus)
  status?: EngineerStatus;

  @IsOptional()
  @QueryBool('Only engineers whose isAvailable equals this')
  available?: boolean;

  @ApiPropertyOptional({ description: 'Engineer has this tag' })
  @IsOptional()
  @TrimLowerCase()
  @IsString()
  @Length(1, 64)
  expertise?: string;

  @IsOptional()
  @QueryBool('Include soft-deleted engineers (default false)')
  includeDeleted?: boolean;
}

export class AvailableEngineersQueryDto {
  @ApiPropertyOptional({ type: [String], description: 'Repeatable: the engineer must have all of them' })
  @IsOptional()
  @NormalizeTags({ fromQuery: true })
  @IsTagList()
  expertise?: string[];

  @IsOptional()
  @QueryInt({ min: 1, max: 100, default: 10 })
  limit: number = 10;
}

export class EngineerIdParam {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'must be a UUID' })
  id!: string;
}

export class DrainEngineerDto {
  @ApiProperty({ enum: ['on_leave', 'offline'] })
  @IsIn(['on_leave', 'offline'])
  status!: 'on_leave' | 'offline';

  @ApiProperty({ minLength: 1, maxLength: 1000 })
  @Trim()
  @IsString()
  @Length(1, 1000)
  reason!: string;
}

export class EngineerPageDto {
  @ApiProperty({ type: [EngineerView] })
  items!: EngineerView[];
  @ApiProperty({ type: 'integer', minimum: 0, example: 1 }) total!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 20 }) pageSize!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) totalPages!: number;
}
