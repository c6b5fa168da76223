import { ApiProperty } from '@nestjs/swagger';

import { EngineerStatus } from '@app/database';

/** An engineer as the API shows it (also the audit snapshot). */
export class EngineerView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'email' }) email!: string;
  @ApiProperty({ type: [String] }) expertise!: string[];
  @ApiProperty({ enum: EngineerStatus }) status!: EngineerStatus;
  @ApiProperty({ description: 'status == active && not deleted && currentReviewCount < maxConcurrentReviews (a generated column)' })
  isAvailable!: boolean;
  @ApiProperty({ minimum: 1, maximum: 50 }) maxConcurrentReviews!: number;
  @ApiProperty({ description: 'Exactly the number of open reviews' }) currentReviewCount!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastAssignedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deletedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
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
