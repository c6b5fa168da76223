import { ApiProperty } from '@nestjs/swagger';

import { AssignmentStrategy, col, columns, Prisma, ReviewDecision, ReviewPriority, ReviewStatus, type RowOf } from '@app/database';

export class AssignmentExplanation {
  @ApiProperty({ enum: AssignmentStrategy, example: 'auto' }) strategy!: AssignmentStrategy;
  @ApiProperty({ description: "The caller's sub (system:sla for escalation)", example: 'admin-1' }) assignedBy!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    description: 'Eligible engineers considered (automatic choices only)',
    example: 4,
  })
  candidates!: number | null;
  @ApiProperty({
    type: Number,
    minimum: 0,
    nullable: true,
    description: "The chosen engineer's load ratio before this review (automatic choices only)",
    example: 0.33,
  })
  loadRatio!: number | null;
}

export class ReviewView {
  @ApiProperty({ format: 'uuid', example: '5e8a1c3b-7d2f-4b6e-a9c0-1f4d8e2b7a35' }) id!: string;
  @ApiProperty({ format: 'uuid', example: '9b1d4f2a-6c3e-4a8b-b5d7-2e0f1a9c8d64' }) incidentId!: string;
  @ApiProperty({ format: 'uuid', example: '3f2c8a4e-1b7d-4c59-9e0a-6d8b2f1c7a53' }) engineerId!: string;
  @ApiProperty({ enum: ReviewStatus, example: 'in_progress' }) status!: ReviewStatus;
  @ApiProperty({ enum: ReviewPriority, example: 'high' }) priority!: ReviewPriority;
  @ApiProperty({ format: 'date-time', example: '2026-12-04T09:30:00.000Z' }) assignedAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) submittedAt!: string | null;
  @ApiProperty({ format: 'date-time', example: '2026-12-04T13:30:00.000Z' }) expectedCompletionAt!: string;
  @ApiProperty({ description: 'assigned or in_progress past expectedCompletionAt (computed at read time)' }) overdue!: boolean;
  @ApiProperty({ type: 'integer', enum: [0, 1, 2], example: 0 }) escalationLevel!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastEscalatedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) approach!: string | null;
  @ApiProperty({ type: String, nullable: true }) analysis!: string | null;
  @ApiProperty({ type: Number, minimum: 0, maximum: 1, nullable: true }) confidence!: number | null;
  @ApiProperty({ enum: ReviewDecision, example: 'pending' }) decision!: ReviewDecision;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) decisionMadeAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) decisionRationale!: string | null;
  @ApiProperty({ type: String, nullable: true }) decidedBy!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) cancelledAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) cancellationReason!: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) reassignedFromId!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) decisionOverdueAt!: string | null;
  @ApiProperty({ type: AssignmentExplanation }) assignment!: AssignmentExplanation;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

/** A review as the repository reads it: the one declaration of its select list and row type. */
export const REVIEW_COLUMNS = columns('reviews', 'r', {
  id: col.uuid('id'),
  incidentId: col.uuid('incident_id'),
  engineerId: col.uuid('engineer_id'),
  status: col.enum<ReviewStatus>('status', 'review_status'),
  priority: col.enum<ReviewPriority>('priority', 'review_priority'),
  assignedAt: col.timestamptz('assigned_at'),
  startedAt: col.timestamptz('started_at').nullable(),
  submittedAt: col.timestamptz('submitted_at').nullable(),
  expectedCompletionAt: col.timestamptz('expected_completion_at'),
  // Same expression as the partial index reviews_open_deadline_idx.
  overdue: col.computed<boolean>(
    (r) => Prisma.sql`(${Prisma.raw(r)}.status IN ('assigned', 'in_progress') AND ${Prisma.raw(r)}.expected_completion_at < now())`,
  ),
  escalationLevel: col.smallint('escalation_level'),
  lastEscalatedAt: col.timestamptz('last_escalated_at').nullable(),
  approach: col.text('approach').nullable(),
  analysis: col.text('analysis').nullable(),
  confidence: col.float8('confidence').nullable(),
  decision: col.enum<ReviewDecision>('decision', 'review_decision'),
  decisionMadeAt: col.timestamptz('decision_made_at').nullable(),
  decisionRationale: col.text('decision_rationale').nullable(),
  decidedBy: col.text('decided_by').nullable(),
  cancelledAt: col.timestamptz('cancelled_at').nullable(),
  cancellationReason: col.text('cancellation_reason').nullable(),
  reassignedFromId: col.uuid('reassigned_from_id').nullable(),
  decisionOverdueAt: col.timestamptz('decision_overdue_at').nullable(),
  assignmentStrategy: col.enum<AssignmentStrategy>('assignment_strategy', 'assignment_strategy'),
  assignedBy: col.text('assigned_by'),
  assignmentCandidates: col.integer('assignment_candidates').nullable(),
  assignmentLoadRatio: col.float8('assignment_load_ratio').nullable(),
  createdAt: col.timestamptz('created_at'),
  updatedAt: col.timestamptz('updated_at'),
});

export type ReviewRow = RowOf<typeof REVIEW_COLUMNS>;

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function toReviewView(row: ReviewRow): ReviewView {
  return {
    id: row.id,
    incidentId: row.incidentId,
    engineerId: row.engineerId,
    status: row.status,
    priority: row.priority,
    assignedAt: row.assignedAt.toISOString(),
    startedAt: iso(row.startedAt),
    submittedAt: iso(row.submittedAt),
    expectedCompletionAt: row.expectedCompletionAt.toISOString(),
    overdue: row.overdue,
    escalationLevel: row.escalationLevel,
    lastEscalatedAt: iso(row.lastEscalatedAt),
    approach: row.approach,
    analysis: row.analysis,
    confidence: row.confidence,
    decision: row.decision,
    decisionMadeAt: iso(row.decisionMadeAt),
    decisionRationale: row.decisionRationale,
    decidedBy: row.decidedBy,
    cancelledAt: iso(row.cancelledAt),
    cancellationReason: row.cancellationReason,
    reassignedFromId: row.reassignedFromId,
    decisionOverdueAt: iso(row.decisionOverdueAt),
    assignment: {
      strategy: row.assignmentStrategy,
      assignedBy: row.assignedBy,
      candidates: row.assignmentCandidates,
      loadRatio: row.assignmentLoadRatio,
    },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
