import { ApiProperty } from '@nestjs/swagger';

import { col, columns, EngineerStatus, type RowOf } from '@app/database';

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

/** An engineer as the repository reads it: the one declaration of its select list and row type. */
export const ENGINEER_COLUMNS = columns('engineers', 'e', {
  id: col.uuid('id'),
  name: col.text('name'),
  email: col.text('email'),
  expertise: col.textArray('expertise'),
  status: col.enum<EngineerStatus>('status', 'engineer_status'),
  isAvailable: col.boolean('is_available'),
  maxConcurrentReviews: col.integer('max_concurrent_reviews'),
  currentReviewCount: col.integer('current_review_count'),
  lastAssignedAt: col.timestamptz('last_assigned_at').nullable(),
  deletedAt: col.timestamptz('deleted_at').nullable(),
  createdAt: col.timestamptz('created_at'),
  updatedAt: col.timestamptz('updated_at'),
});

export type EngineerRow = RowOf<typeof ENGINEER_COLUMNS>;

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
