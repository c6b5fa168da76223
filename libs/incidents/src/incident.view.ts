import { ApiProperty } from '@nestjs/swagger';

import { Approach, IncidentStatus, Severity } from '@app/database';

export class IncidentView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ enum: Severity }) severity!: Severity;
  @ApiProperty() aiProposal!: string;
  @ApiProperty({ type: [String] }) requiredExpertise!: string[];
  @ApiProperty({ type: String, nullable: true }) externalRef!: string | null;
  @ApiProperty({ enum: IncidentStatus }) status!: IncidentStatus;
  // OpenAPI 3.0: a nullable enum lists null among its values, or null is not one of them.
  @ApiProperty({ enum: [...Object.values(Approach), null], nullable: true }) chosenApproach!: Approach | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) openReviewId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export interface IncidentRow {
  id: string;
  title: string;
  description: string | null;
  severity: Severity;
  aiProposal: string;
  requiredExpertise: string[];
  externalRef: string | null;
  status: IncidentStatus;
  chosenApproach: Approach | null;
  openReviewId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function toIncidentView(row: IncidentRow): IncidentView {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

/** `approved` and `resolved` incidents take no new reviews. */
export const CLOSED_INCIDENT_STATUSES: readonly IncidentStatus[] = [IncidentStatus.approved, IncidentStatus.resolved];

/** #20: the contract's manual status moves; moves caused by reviews are made by the review lifecycle. */
export const MANUAL_INCIDENT_TRANSITIONS: Partial<Record<IncidentStatus, IncidentStatus>> = {
  [IncidentStatus.analyzing]: IncidentStatus.detected,
  [IncidentStatus.resolved]: IncidentStatus.approved,
};
