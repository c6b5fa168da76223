import { ApiProperty } from '@nestjs/swagger';

import { EngineerStatus } from '@app/database';

/** An engineer as the API shows it (also the audit snapshot). */
export class EngineerView {
  @ApiProperty({ format: 'uuid', example: '3f2c8a4e-1b7d-4c59-9e0a-6d8b2f1c7a53' }) id!: string;
  @ApiProperty({ example: 'Ada Lovelace' }) name!: string;
  @ApiProperty({ format: 'email', example: 'ada@example.com' }) email!: string;
  @ApiProperty({ type: [String], example: ['postgres', 'kubernetes'] }) expertise!: string[];
  @ApiProperty({ enum: EngineerStatus, example: 'active' }) status!: EngineerStatus;
  @ApiProperty({ description: 'status == active && not deleted && currentReviewCount < maxConcurrentReviews (a generated column)' })
  isAvailable!: boolean;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 50, example: 3 }) maxConcurrentReviews!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Exactly the number of open reviews', example: 1 }) currentReviewCount!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-12-04T09:30:00.000Z' }) lastAssignedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null }) deletedAt!: string | null;
  @ApiProperty({ format: 'date-time', example: '2026-12-01T08:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-04T09:30:00.000Z' }) updatedAt!: string;
}

export interface EngineerRow {
  id: string;
  name: string;
  email: string;
  expertise: string[];
  status: EngineerStatus;
  isAvailable: boolean;
  maxConcurrentReviews: number;
  currentReviewCount: number;
  lastAssignedAt: Date | null;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toEngineerView(row: EngineerRow): EngineerView {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    expertise: row.expertise,
    status: row.status,
    isAvailable: row.isAvailable,
    maxConcurrentReviews: row.maxConcurrentReviews,
    currentReviewCount: row.currentReviewCount,
    lastAssignedAt: iso(row.lastAssignedAt),
    deletedAt: iso(row.deletedAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
