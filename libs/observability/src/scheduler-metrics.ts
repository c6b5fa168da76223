import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Health of the SLA escalation job in this process. The last-success timestamp stays 0 on a
 * replica that never ran a pass (SCHEDULER_ENABLED=false), so alerts take the max over replicas.
 */
@Injectable()
export class SchedulerMetrics {
  private readonly lastSuccess: Gauge;
  private readonly passDuration: Histogram;
  private readonly passFailures: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.lastSuccess = new Gauge({
      name: 'sla_escalation_last_success_timestamp_seconds',
      help: 'Unix time at which this process last completed an SLA escalation pass (0: never)',
      registers,
    });
    this.passDuration = new Histogram({
      name: 'sla_escalation_pass_duration_seconds',
      help: 'Duration of successful SLA escalation passes',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.passFailures = new Counter({
      name: 'sla_escalation_pass_failures_total',
      help: 'SLA escalation passes that ended in an error',
      registers,
    });
  }

  passSucceeded(durationSeconds: number): void {
    this.passDuration.observe(durationSeconds);
    this.lastSuccess.set(Date.now() / 1000);
  }

  passFailed(): void {
    this.passFailures.inc();
  }
}
