import { Injectable } from '@nestjs/common';
import { Counter, Histogram, register } from 'prom-client';

function counter<T extends string>(name: string, help: string, labelNames: T[]): Counter<T> {
  return (register.getSingleMetric(name) as Counter<T> | undefined) ?? new Counter({ name, help, labelNames });
}

function histogram<T extends string>(name: string, help: string, labelNames: T[], buckets: number[]): Histogram<T> {
  return (register.getSingleMetric(name) as Histogram<T> | undefined) ?? new Histogram({ name, help, labelNames, buckets });
}

const REVIEW_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];

export type AssignmentOutcome = 'success' | 'rejected' | 'error';

/**
 * Per-process counters and histograms of the review lifecycle (Prometheus sums replicas). Gauges
 * that must agree across replicas are read from the database at scrape time instead.
 */
@Injectable()
export class ReviewMetrics {
  private readonly assignments = counter('engineer_assignments_total', 'Review assignment attempts by priority and outcome', ['priority', 'outcome']);
  private readonly duration = histogram('review_duration_seconds', 'Time from assignment to submission', [], REVIEW_BUCKETS);
  private readonly decisionLatency = histogram(
    'review_decision_latency_seconds',
    'Time from assignment to the decision',
    ['decision_type'],
    REVIEW_BUCKETS,
  );
  private readonly escalations = counter('review_escalations_total', 'Review escalations by level', ['level']);

  assignment(priority: string, outcome: AssignmentOutcome): void {
    this.assignments.inc({ priority, outcome });
  }

  submitted(assignedAt: Date, submittedAt: Date): void {
    this.duration.observe(Math.max(0, (submittedAt.getTime() - assignedAt.getTime()) / 1000));
  }

  decided(decisionType: string, assignedAt: Date, decidedAt: Date): void {
    this.decisionLatency.observe({ decision_type: decisionType }, Math.max(0, (decidedAt.getTime() - assignedAt.getTime()) / 1000));
  }

  escalated(level: 1 | 2): void {
    this.escalations.inc({ level: String(level) });
  }
}
