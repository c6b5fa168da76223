import { ApiProperty } from '@nestjs/swagger';
import { diffLines } from 'diff';

import type { IncidentRow } from '@app/incidents';

import type { DecisionValue, VoteRow } from './decision.repository.js';
import type { ReviewRow } from './review.view.js';

export const DECISION_STATES = ['awaiting_review', 'awaiting_decision', 'decided'] as const;
export type DecisionState = (typeof DECISION_STATES)[number];

export class VoteView {
  @ApiProperty() adminSub!: string;
  @ApiProperty({ enum: ['ai_approach', 'engineer_approach'] }) decision!: DecisionValue;
  @ApiProperty() rationale!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class DecisionView {
  @ApiProperty({ format: 'uuid' }) incidentId!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: "The incident's open review, else its latest" }) reviewId!:
    string | null;
  @ApiProperty({
    enum: DECISION_STATES,
    description: 'decided once the incident has a decision; awaiting_decision while a review is submitted',
  })
  state!: DecisionState;
  // OpenAPI 3.0: a nullable enum lists null among its values, or null is not one of them.
  @ApiProperty({ type: String, enum: ['ai_approach', 'engineer_approach', null], nullable: true }) decision!: DecisionValue | null;
  @ApiProperty({ type: String, nullable: true, description: 'The deciding admin, or system:sla at the decision deadline' }) decidedBy!:
    string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) decidedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) rationale!: string | null;
  @ApiProperty() aiProposal!: string;
  @ApiProperty({ type: String, nullable: true, description: "The submitted review's approach" }) approach!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Line diff from aiProposal to approach: every line of both, prefixed "-" (only in aiProposal), "+" (only in approach) or " " (in both), joined with newlines',
  })
  diff!: string | null;
  @ApiProperty({ type: [VoteView], description: 'Votes cast on the review so far (quorum), oldest first' }) votes!: VoteView[];
  @ApiProperty({ description: "Distinct admins who must agree (DECISION_APPROVALS_<priority> of the review's priority)" })
  requiredVotes!: number;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'submittedAt + DECISION_SLA_SECONDS while awaiting_decision',
  })
  deadlineAt!: string | null;
}

export interface DecisionFacts {
  incident: IncidentRow;
  /** The incident's reviews, newest assignedAt first. */
  reviews: ReviewRow[];
  votes: VoteRow[];
  requiredVotes: number;
  decisionSlaSeconds: number;
}

/** The review the view is about: the incident's open review, else its latest. */
export function decisionReview(incident: IncidentRow, reviews: ReviewRow[]): ReviewRow | undefined {
  return reviews.find((review) => review.id === incident.openReviewId) ?? reviews[0];
}

export function toDecisionView({ incident, reviews, votes, requiredVotes, decisionSlaSeconds }: DecisionFacts): DecisionView {
  const review = decisionReview(incident, reviews);
  const decided = reviews.find((candidate) => candidate.decision !== 'pending');
  const state: DecisionState =
    incident.chosenApproach !== null ? 'decided' : review?.status === 'submitted' ? 'awaiting_decision' : 'awaiting_review';
  const approach = review?.approach ?? null;
  return {
    incidentId: incident.id,
    reviewId: review?.id ?? null,
    state,
    decision: incident.chosenApproach,
    decidedBy: decided?.decidedBy ?? null,
    decidedAt: decided?.decisionMadeAt?.toISOString() ?? null,
    rationale: decided?.decisionRationale ?? null,
    aiProposal: incident.aiProposal,
    approach,
    diff: approach === null ? null : lineDiff(incident.aiProposal, approach),
    votes: votes.map(toVoteView),
    requiredVotes,
    deadlineAt:
      state === 'awaiting_decision' && review?.submittedAt
        ? new Date(review.submittedAt.getTime() + decisionSlaSeconds * 1000).toISOString()
        : null,
  };
}

export function toVoteView(vote: VoteRow): VoteView {
  return { ...vote, at: vote.at.toISOString() };
}

export function lineDiff(from: string, to: string): string {
  const lines: string[] = [];
  for (const part of diffLines(from, to)) {
    const prefix = part.added ? '+' : part.removed ? '-' : ' ';
    const partLines = part.value.split('\n');
    if (part.value.endsWith('\n')) partLines.pop();
    for (const line of partLines) lines.push(prefix + line);
  }
  return lines.join('\n');
}
