import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';

import { IncidentStatus, Severity } from '@app/database';
import { IsTagList, NormalizeTags, OptionalField, PageQueryDto, Trim } from '@app/http';

import { IncidentView } from '../incident.view.js';

export class CreateIncidentDto {
  @ApiProperty({ minLength: 1, maxLength: 300, example: 'Database latency above 2 s' })
  @Trim()
  @IsString()
  @Length(1, 300)
  title!: string;

  @ApiPropertyOptional({ type: String, maxLength: 10000, nullable: true })
  @IsOptional()
  @Trim()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @ApiProperty({ enum: Severity, example: 'high' })
  @IsEnum(Severity)
  severity!: Severity;

  @ApiProperty({ minLength: 1, maxLength: 20000, example: 'Fail over to the replica' })
  @Trim()
  @IsString()
  @Length(1, 20000)
  aiProposal!: string;

  @ApiPropertyOptional({ type: [String], maxItems: 50, default: [], description: 'Tags of 1–64 chars, lower-cased and de-duplicated' })
  @OptionalField()
  @NormalizeTags()
  @IsTagList()
  requiredExpertise?: string[];

  @ApiPropertyOptional({
    type: String,
    minLength: 1,
    maxLength: 200,
    nullable: true,
    description: 'Unique: a repeat returns 200 with the existing incident',
  })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 200)
  externalRef?: string | null;
}

export class ListIncidentsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: IncidentStatus })
  @IsOptional()
  @IsEnum(IncidentStatus)
  status?: IncidentStatus;

  @ApiPropertyOptional({ enum: Severity })
  @IsOptional()
  @IsEnum(Severity)
  severity?: Severity;
}

export class ChangeIncidentStatusDto {
  @ApiProperty({ enum: ['analyzing', 'resolved'] })
  @IsIn(['analyzing', 'resolved'])
  status!: 'analyzing' | 'resolved';
}

export class IncidentIdParam {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'must be a UUID' })
  id!: string;
}

export class IncidentPageDto {
  @ApiProperty({ type: [IncidentView] }) items!: IncidentView[];
  @ApiProperty({ type: 'integer', minimum: 0, example: 1 }) total!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 20 }) pageSize!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) totalPages!: number;
}
