import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';

import { type AuditRecord, AuditService } from '@app/audit';
import { Actor } from '@app/auth';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type ReviewPriority, TransactionRunner, type Tx } from '@app/database';
import { ReviewMetrics, SchedulerMetrics } from '@app/observability';
import {
  type EscalationDue,
  ReassignmentService,
  type ReviewCursor,
  ReviewLocks,
  type ReviewRow,
  ReviewsRepository,
  ReviewWorkService,
  toReviewView,
} from '@app/reviews';
import { OutboxService, type ReviewEvent } from '@app/webhooks';

export interface EscalationPassResult {
  /** Escalation levels recorded: a review taken from level 0 to level 2 in one pass counts twice. */
  escalated: number;
  /** Level-2 reviews handed to another engineer (ESCALATION_AUTO_REASSIGN=true). */
  reassigned: number;
  /** Submitted reviews newly marked decision-overdue. */
  decisionOverdue: number;
  /** Reviews decided by DECISION_DEADLINE_ACTION. */
  decidedAtDeadline: number;
}

type Level = 1 | 2;

const NO_GRACE: Record<ReviewPriority, number> = { critical: 0, high: 0, normal: 0, low: 0 };

/**
 * The SLA pass: level 1 for overdue reviews, level 2 for reviews still open ESCALATION_LEVEL2_AFTER_SECONDS
 * (default half the priority's SLA) past the deadline, then decision-overdue marks.
 *
 * Exactly once per review and level across replicas: rows are claimed with FOR UPDATE SKIP LOCKED,
 * and the level change itself is guarded (UPDATE … WHERE escalation_level = expected), with its
 * audit entry and outbox event in the same transaction. Every batch is its own short transaction,
 * so a pass over 100 000 overdue reviews never becomes one giant transaction, and a replica dying
 * mid-pass loses nothing: its open batch rolls back and its locks are released for the next pass.
 *
 * Each sweep walks its claim order (deadline, id) once with a keyset cursor: rows skipped because
 * they were locked are left for the next pass instead of being re-scanned in this one.
 */
@Injectable()
export class EscalationService implements OnModuleDestroy {
  private readonly actor = Actor.system();
  private readonly stopping = new AbortController();
  /** Passes in one process run one after another: this is the tail of that queue. */
  private lastPass: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly reviews: ReviewsRepository,
    private readonly locks: ReviewLocks,
    private readonly reassignments: ReassignmentService,
    private readonly work: ReviewWorkService,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly reviewMetrics: ReviewMetrics,
    private readonly schedulerMetrics: SchedulerMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Runs one full pass, after any pass already running in this process. */
  runPass(): Promise<EscalationPassResult> {
    const pass = this.lastPass.then(() => this.sweep(this.stopping.signal));
    this.lastPass = pass.catch(() => undefined);
    return pass;
  }

  /**
   * Shutdown: a running pass stops after the batch in hand, what is left waits for the next pass of
   * any replica. Nest destroys the global DatabaseModule after this module, so the batch ends on an open pool.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.lastPass;
  }

  private async sweep(signal: AbortSignal): Promise<EscalationPassResult> {
    const started = performance.now();
    try {
      const result: EscalationPassResult = { escalated: 0, reassigned: 0, decisionOverdue: 0, decidedAtDeadline: 0 };
      result.escalated += await this.escalateInBatches(0, signal);
      if (this.config.escalation.autoReassign) {
        const level2 = await this.escalateAndReassign(signal);
        result.escalated += level2.escalated;
        result.reassigned += level2.reassigned;
      } else {
        result.escalated += await this.escalateInBatches(1, signal);
      }
      result.decisionOverdue = await this.markDecisionsOverdue(signal);
      result.decidedAtDeadline = await this.decideAtDeadline(signal);
      this.schedulerMetrics.passSucceeded((performance.now() - started) / 1000);
      return result;
    } catch (error) {
      this.schedulerMetrics.passFailed();
      throw error;
    }
  }

  /**
   * Level changes that touch only the review row: claim a batch (review locks only, never waiting for
   * one), raise it, record it. Nothing else is locked, so this cannot deadlock with the
   * incident → review → engineer order of the rest of the code.
   */
  private async escalateInBatches(fromLevel: 0 | 1, signal: AbortSignal): Promise<number> {
    const batchSize = this.config.escalation.batchSize;
    let after: ReviewCursor | null = null;
    let total = 0;
    while (!signal.aborted) {
      const due = this.due(fromLevel, after);
      const batch = await this.transactions.run(async (tx) => {
        const claimed = await this.reviews.claimDueForEscalation(tx, due, batchSize);
        const raised = await this.reviews.escalateFromLevel(
          tx,
          claimed.map((review) => review.id),
          fromLevel,
        );
        await this.record(tx, 'review.escalated', claimed, raised);
        return { claimed, raised: raised.length };
      });
      this.countEscalations(nextLevel(fromLevel), batch.raised);
      total += batch.raised;
      const last = batch.claimed.at(-1);
      if (!last || batch.claimed.length < batchSize) break;
      after = { at: last.expectedCompletionAt, id: last.id };
    }
    return total;
  }

  /**
   * Level 2 with ESCALATION_AUTO_REASSIGN: the reassign needs the incident lock, and the rest of the
   * code locks incident, then review, then engineers. Claiming reviews first and then waiting for an
   * incident or engineer lock could deadlock (a drain holds its engineer while it waits for that
   * engineer's reviews). So each review gets its own transaction that takes the locks in the global
   * order (incident, review, engineers) and re-checks under them: the guarded level change is the
   * claim, and a review another replica has already raised, or a user has moved, is skipped.
   * Level 2 and the reassign commit together, so a crash can never leave a level-2 review unmoved.
   */
  private async escalateAndReassign(signal: AbortSignal): Promise<{ escalated: number; reassigned: number }> {
    const batchSize = this.config.escalation.batchSize;
    const totals = { escalated: 0, reassigned: 0 };
    let after: ReviewCursor | null = null;
    while (!signal.aborted) {
      const page = await this.reviews.listDueForEscalation(this.due(1, after), batchSize);
      for (const candidate of page) {
        if (signal.aborted) break;
        const outcome = await this.transactions.run(async (tx) => {
          const incident = await this.locks.incident(tx, candidate.incidentId);
          const review = await this.locks.review(tx, candidate.id);
          const [raised] = await this.reviews.escalateFromLevel(tx, [review.id], 1);
          if (!raised) return { escalated: false, reassigned: false };
          await this.record(tx, 'review.escalated', [review], [raised]);
          const moved = await this.reassignments.reassignForEscalation(tx, this.actor, raised, incident);
          return { escalated: true, reassigned: moved !== undefined };
        });
        if (outcome.escalated) this.countEscalations(2, 1);
        totals.escalated += Number(outcome.escalated);
        totals.reassigned += Number(outcome.reassigned);
      }
      const last = page.at(-1);
      if (!last || page.length < batchSize) break;
      after = { at: last.expectedCompletionAt, id: last.id };
    }
    return totals;
  }

  private async markDecisionsOverdue(signal: AbortSignal): Promise<number> {
    const batchSize = this.config.escalation.batchSize;
    let after: ReviewCursor | null = null;
    let total = 0;
    while (!signal.aborted) {
      const position = after;
      const batch = await this.transactions.run(async (tx) => {
        const claimed = await this.reviews.claimDecisionOverdue(tx, this.config.decisionSlaSeconds, position, batchSize);
        const marked = await this.reviews.markDecisionOverdueOnce(
          tx,
          claimed.map((review) => review.id),
        );
        await this.record(tx, 'review.decision_overdue', claimed, marked);
        return { claimed, marked: marked.length };
      });
      total += batch.marked;
      const last = batch.claimed.at(-1);
      if (!last?.submittedAt || batch.claimed.length < batchSize) break;
      after = { at: last.submittedAt, id: last.id };
    }
    return total;
  }

  /**
   * DECISION_DEADLINE_ACTION, after the decision-overdue step: each review marked overdue (so its
   * review.decision_overdue entry and event are committed) is decided in its own transaction, which
   * re-checks under the incident's lock; a replica that comes second finds it decided and skips it.
   */
  private async decideAtDeadline(signal: AbortSignal): Promise<number> {
    const action = this.config.decisions.deadlineAction;
    if (action === 'none') return 0;
    const batchSize = this.config.escalation.batchSize;
    let after: ReviewCursor | null = null;
    let total = 0;
    while (!signal.aborted) {
      const page = await this.reviews.listPastDecisionDeadline(after, batchSize);
      for (const candidate of page) {
        if (signal.aborted) break;
        if (await this.work.decideAtDeadline(candidate.id, candidate.incidentId, action)) total += 1;
      }
      const last = page.at(-1);
      if (!last?.submittedAt || page.length < batchSize) break;
      after = { at: last.submittedAt, id: last.id };
    }
    return total;
  }

  private due(fromLevel: 0 | 1, after: ReviewCursor | null): EscalationDue {
    return { fromLevel, graceSeconds: fromLevel === 0 ? NO_GRACE : this.level2GraceSeconds(), after };
  }

  /** ESCALATION_LEVEL2_AFTER_SECONDS, or half of each priority's SLA when it is unset. */
  private level2GraceSeconds(): Record<ReviewPriority, number> {
    const { slaSeconds, escalation } = this.config;
    const grace = (priority: ReviewPriority): number => escalation.level2AfterSeconds ?? slaSeconds[priority] / 2;
    return { critical: grace('critical'), high: grace('high'), normal: grace('normal'), low: grace('low') };
  }

  /** One audit entry and one outbox event per changed review, in claim order. */
  private async record(
    tx: Tx,
    action: 'review.escalated' | 'review.decision_overdue',
    before: ReviewRow[],
    after: ReviewRow[],
  ): Promise<void> {
    const changed = new Map(after.map((row) => [row.id, row]));
    const audits: AuditRecord[] = [];
    const events: ReviewEvent[] = [];
    for (const previous of before) {
      const row = changed.get(previous.id);
      if (!row) continue;
      const view = toReviewView(row);
      audits.push({ action, entityType: 'review', entityId: row.id, before: toReviewView(previous), after: view });
      events.push({ type: action, review: view });
    }
    await this.audit.record(tx, this.actor, ...audits);
    await this.outbox.publish(tx, ...events);
  }

  /** After the commit, so that a rolled-back batch is never counted. */
  private countEscalations(level: Level, count: number): void {
    for (let i = 0; i < count; i += 1) this.reviewMetrics.escalated(level);
  }
}

function nextLevel(fromLevel: 0 | 1): Level {
  return fromLevel === 0 ? 1 : 2;
}
