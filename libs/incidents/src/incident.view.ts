import { ApiProperty } from '@nestjs/swagger';

import { Approach, col, columns, IncidentStatus, type RowOf, Severity } from '@app/database';

export class IncidentView {
  @ApiProperty({ format: 'uuid', example: '9b1d4f2a-6c3e-4a8b-b5d7-2e0f1a9c8d64' }) id!: string;
  @ApiProperty({ example: 'Database latency above 2 s' }) title!: string;
  @ApiProperty({ type: String, nullable: true, example: 'p99 latency on the primary since 09:12' }) description!: string | null;
  @ApiProperty({ enum: Severity, example: 'high' }) severity!: Severity;
  @ApiProperty({ example: 'Fail over to the replica' }) aiProposal!: string;
  @ApiProperty({ type: [String], example: ['postgres'] }) requiredExpertise!: string[];
  @ApiProperty({ type: String, nullable: true, example: 'alert-4711' }) externalRef!: string | null;
  @ApiProperty({ enum: IncidentStatus, example: 'pending_approval' }) status!: IncidentStatus;
  // OpenAPI 3.0: a nullable enum lists null among its values, or null is not one of them.
  @ApiProperty({ enum: [...Object.values(Approach), null], nullable: true }) chosenApproach!: Approach | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: '5e8a1c3b-7d2f-4b6e-a9c0-1f4d8e2b7a35' }) openReviewId!:
    string | null;
  @ApiProperty({ format: 'date-time', example: '2026-12-04T09:12:00.000Z' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-04T09:30:00.000Z' }) updatedAt!: string;
}

/** An incident as the repository reads it: the one declaration of its select list and row type. */
export const INCIDENT_COLUMNS = columns('incidents', 'i', {
  id: col.uuid('id'),
  title: col.text('title'),
  description: col.text('description').nullable(),
  severity: col.enum<Severity>('severity', 'incident_severity'),
  aiProposal: col.text('ai_proposal'),
  requiredExpertise: col.textArray('required_expertise'),
  externalRef: col.text('external_ref').nullable(),
  status: col.enum<IncidentStatus>('status', 'incident_status'),
  chosenApproach: col.enum<Approach>('chosen_approach', 'approach').nullable(),
  openReviewId: col.uuid('open_review_id').nullable(),
  createdAt: col.timestamptz('created_at'),
  updatedAt: col.timestamptz('updated_at'),
});

export type IncidentRow = RowOf<typeof INCIDENT_COLUMNS>;

export function toIncidentView(row: IncidentRow): IncidentView {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

/** `approved` and `resolved` incidents take no new reviews. */
export const CLOSED_INCIDENT_STATUSES: readonly IncidentStatus[] = [IncidentStatus.approved, IncidentStatus.resolved];

/** The contract's manual status moves; moves caused by reviews are made by the review lifecycle. */
export const MANUAL_INCIDENT_TRANSITIONS: Partial<Record<IncidentStatus, IncidentStatus>> = {
  [IncidentStatus.analyzing]: IncidentStatus.detected,
  [IncidentStatus.resolved]: IncidentStatus.approved,
};
