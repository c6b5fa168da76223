import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';

import { PageQueryDto } from '@app/http';

import { AUDIT_ACTIONS, AUDIT_ENTITY_TYPES, type AuditAction, type AuditEntityType } from '../audit.types.js';
import { AuditEntryView } from '../audit-entry.view.js';

/** A date-time with an explicit offset: a bare date or a local time would be ambiguous. */
const TIMESTAMP_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const TIMESTAMP_MESSAGE = 'must be an ISO-8601 date-time with Z or an offset, e.g. 2026-01-31T12:00:00.000Z';

function Timestamp(description: string): PropertyDecorator {
  return (target, property) => {
    ApiPropertyOptional({ type: String, format: 'date-time', description })(target, property);
    IsOptional()(target, property);
    IsString({ message: TIMESTAMP_MESSAGE })(target, property);
    Matches(TIMESTAMP_WITH_OFFSET, { message: TIMESTAMP_MESSAGE })(target, property);
    IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE })(target, property);
  };
}

export class AuditFilterQueryDto {
  @ApiPropertyOptional({ enum: AUDIT_ENTITY_TYPES })
  @IsOptional()
  @IsIn(AUDIT_ENTITY_TYPES)
  entityType?: AuditEntityType;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  entityId?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 200, description: 'Exact JWT sub of the actor, or system:sla' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  actorSub?: string;

  @ApiPropertyOptional({ enum: AUDIT_ACTIONS })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS)
  action?: AuditAction;

  @Timestamp('Entries that occurred at or after this instant (millisecond precision)')
  from?: string;

  @Timestamp('Entries that occurred at or before this instant (millisecond precision); before `from` matches nothing')
  to?: string;
}

export class ListAuditQueryDto extends IntersectionType(PageQueryDto, AuditFilterQueryDto) {}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryView] }) items!: AuditEntryView[];
  @ApiProperty({ type: 'integer', minimum: 0, example: 1 }) total!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 20 }) pageSize!: number;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) totalPages!: number;
}

export class ChainVerificationDto {
  @ApiProperty({ description: 'True when every sealed entry matches its seal and every seal has its entry' })
  valid!: boolean;

  @ApiProperty({ type: 'integer', description: 'Entries whose hash was recomputed and matched, up to the first invalid one' })
  checked!: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      'First seq where the chain breaks: an edited entry, a deleted entry (its seal remains), or an entry without a seal at or below the sealed head',
  })
  firstInvalidSeq!: number | null;

  @ApiProperty({ type: 'integer', description: 'Entries above the sealed head, not checked: sealed within 2 s of their commit' })
  unsealed!: number;
}

export class ChainHeadDto {
  @ApiProperty({ type: 'integer', nullable: true, description: 'seq of the last sealed entry; null when nothing is sealed' })
  seq!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: '^[0-9a-f]{64}$',
    description: 'Its chain hash (hex), to be recorded outside the database',
  })
  hash!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it was sealed' })
  sealedAt!: string | null;
}
