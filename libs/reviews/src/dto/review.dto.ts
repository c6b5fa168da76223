import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsIn, IsNumber, IsOptional, IsString, IsUUID, Length, Max, MaxLength, Min } from 'class-validator';

import { ReviewPriority, ReviewStatus } from '@app/database';
import { OptionalField, PageQueryDto, QueryBool, QueryInt, Trim } from '@app/http';

import { ReviewView } from '../review.view.js';

const UUID = { message: 'must be a UUID' };

export class ReviewIdParam {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', UUID)
  id!: string;
}

export class AssignReviewDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', UUID)
  incidentId!: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', UUID)
  engineerId!: string;

  @ApiPropertyOptional({ enum: ReviewPriority, default: 'normal' })
  @OptionalField()
  @IsEnum(ReviewPriority)
  priority?: ReviewPriority;
}

export class AutoAssignReviewDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', UUID)
  incidentId!: string;

  @ApiPropertyOptional({ enum: ReviewPriority, default: 'normal' })
  @OptionalField()
  @IsEnum(ReviewPriority)
  priority?: ReviewPriority;
}

export class SubmitReviewDto {
  @ApiProperty({ minLength: 1, maxLength: 20000, example: 'Raise the connection pool, then fail over' })
  @Trim()
  @IsString()
  @Length(1, 20000)
  approach!: string;

  @ApiPropertyOptional({ type: String, maxLength: 20000, nullable: true })
  @IsOptional()
  @Trim()
  @IsString()
  @MaxLength(20000)
  analysis?: string | null;

  @ApiPropertyOptional({ type: Number, minimum: 0, maximum: 1, nullable: true, example: 0.8 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  confidence?: number | null;
}

export class CancelReviewDto {
  @ApiProperty({ minLength: 1, maxLength: 1000 })
  @Trim()
  @IsString()
  @Length(1, 1000)
  reason!: string;
}

export class ReassignReviewDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', UUID)
  engineerId!: string;

  @ApiProperty({ minLength: 1, maxLength: 1000 })
  @Trim()
  @IsString()
  @Length(1, 1000)
  reason!: string;
}

export class DecisionDto {
  @ApiProperty({ enum: ['ai_approach', 'engineer_approach'], example: 'engineer_approach' })
  @IsIn(['ai_approach', 'engineer_approach'])
  decision!: 'ai_approach' | 'engineer_approach';

  @ApiProperty({ minLength: 1, maxLength: 5000, example: 'Fail-over alone would repeat the outage' })
  @Trim()
  @IsString()
  @Length(1, 5000)
  rationale!: string;
}

export class DecisionQueryDto {
  @IsOptional()
  @QueryInt({ min: 0, max: 60, default: 0, description: 'Hold the answer up to this many seconds until the incident is decided' })
  waitSeconds?: number;
}

export class ListReviewsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Comma-separated review statuses', example: 'assigned,in_progress' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').map((status) => status.trim()) : value))
  @IsEnum(ReviewStatus, { each: true })
  status?: ReviewStatus[];

  @ApiPropertyOptional({ enum: ReviewPriority })
  @IsOptional()
  @IsEnum(ReviewPriority)
  priority?: ReviewPriority;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all', UUID)
  engineerId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all', UUID)
  incidentId?: string;

  @IsOptional()
  @QueryBool('Only reviews that are (or are not) overdue')
  overdue?: boolean;
}

export class ReviewPageDto {
  @ApiProperty({ type: [ReviewView] }) items!: ReviewView[];
  @ApiProperty({ type: 'integer', minimum: 0, example: 1 }) total!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 20 }) pageSize!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) totalPages!: number;
}
