import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';

const REVIEW_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];
const PRIORITIES = ['low', 'normal', 'high', 'critical'];
const DECISION_TYPES = ['ai_approach', 'engineer_approach'];

export type AssignmentOutcome = 'success' | 'rejected' | 'error';
const OUTCOMES: AssignmentOutcome[] = ['success', 'rejected', 'error'];

/**
 * Per-process counters and histograms of the review lifecycle (Prometheus sums replicas). Gauges
 * that must agree across replicas are read from the database at scrape time instead.
 */
@Injectable()
export class ReviewMetrics {
  private readonly assignments: Counter<'priority' | 'outcome'>;
  private readonly duration: Histogram;
  private readonly decisionLatency: Histogram<'decision_type'>;
  private readonly escalations: Counter<'level'>;
  private readonly unrepairedWorkloads: Counter;
  private readonly votes: Counter<'decision_type'>;
  private readonly decisions: Counter<'decision_type' | 'source'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.assignments = new Counter({
      name: 'engineer_assignments_total',
      help: 'Review assignment attempts by priority and outcome',
      labelNames: ['priority', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'review_duration_seconds',
      help: 'Time from assignment to submission',
      buckets: REVIEW_BUCKETS,
      registers,
    });
    this.decisionLatency = new Histogram({
      name: 'review_decision_latency_seconds',
      help: 'Time from assignment to the decision',
      labelNames: ['decision_type'],
      buckets: REVIEW_BUCKETS,
      registers,
    });
    this.escalations = new Counter({
      name: 'review_escalations_total',
      help: 'Review escalations by level',
      labelNames: ['level'],
      registers,
    });
    this.unrepairedWorkloads = new Counter({
      name: 'workload_reconcile_unrepaired_total',
      help: 'Engineers a workload reconcile could not repair (open reviews above capacity)',
      registers,
    });
    this.votes = new Counter({
      name: 'review_decision_votes_total',
      help: 'Decision votes that did not yet decide (quorum), by value',
      labelNames: ['decision_type'],
      registers,
    });
    this.decisions = new Counter({
      name: 'review_decisions_total',
      help: 'Decisions by value and source (admin: a request; deadline: DECISION_DEADLINE_ACTION)',
      labelNames: ['decision_type', 'source'],
      registers,
    });
    // Series exist from the start, so rate() and absent-vs-zero behave the same on a fresh replica.
    for (const priority of PRIORITIES) for (const outcome of OUTCOMES) this.assignments.inc({ priority, outcome }, 0);
    for (const decisionType of DECISION_TYPES) this.decisionLatency.zero({ decision_type: decisionType });
    for (const level of ['1', '2']) this.escalations.inc({ level }, 0);
    for (const decisionType of DECISION_TYPES) {
      this.votes.inc({ decision_type: decisionType }, 0);
      for (const source of ['admin', 'deadline']) this.decisions.inc({ decision_type: decisionType, source }, 0);
    }
  }

  assignment(priority: string, outcome: AssignmentOutcome): void {
    this.assignments.inc({ priority, outcome });
  }

  submitted(assignedAt: Date, submittedAt: Date): void {
    this.duration.observe(Math.max(0, (submittedAt.getTime() - assignedAt.getTime()) / 1000));
  }

  voted(decisionType: string): void {
    this.votes.inc({ decision_type: decisionType });
  }

  decided(decisionType: string, assignedAt: Date, decidedAt: Date, source: 'admin' | 'deadline' = 'admin'): void {
    this.decisions.inc({ decision_type: decisionType, source });
    this.decisionLatency.observe({ decision_type: decisionType }, Math.max(0, (decidedAt.getTime() - assignedAt.getTime()) / 1000));
  }

  workloadUnrepaired(): void {
    this.unrepairedWorkloads.inc();
  }

  escalated(level: 1 | 2): void {
    this.escalations.inc({ level: String(level) });
  }
}
