import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { inSpan } from '@app/observability';

import { EscalationService } from './escalation.service.js';

export const ESCALATION_INTERVAL_NAME = 'sla-escalation';

/**
 * Thin trigger: every ESCALATION_INTERVAL_SECONDS it hands off to EscalationService. A tick that
 * arrives while this scheduler's previous pass still runs is skipped, so passes never pile up.
 * The interval is registered at runtime because its period comes from configuration.
 */
@Injectable()
export class EscalationScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EscalationScheduler.name);
  private running = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly escalations: EscalationService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const { schedulerEnabled, intervalSeconds } = this.config.escalation;
    if (!schedulerEnabled) {
      this.logger.log('SLA escalation scheduler disabled in this replica (SCHEDULER_ENABLED=false)');
      return;
    }
    this.registry.addInterval(
      ESCALATION_INTERVAL_NAME,
      setInterval(() => this.tick(), intervalSeconds * 1000),
    );
  }

  /** No new pass once shutdown begins; EscalationService winds down the one in flight. */
  onModuleDestroy(): void {
    if (this.registry.doesExist('interval', ESCALATION_INTERVAL_NAME)) this.registry.deleteInterval(ESCALATION_INTERVAL_NAME);
  }

  private tick(): void {
    if (this.running) return;
    this.running = true;
    void inSpan('sla escalation pass', {}, async (span) => {
      const result = await this.escalations.runPass();
      span.setAttributes({
        'sla.escalated': result.escalated,
        'sla.reassigned': result.reassigned,
        'sla.decision_overdue': result.decisionOverdue,
      });
      return result;
    })
      .then(
        (result) => {
          if (result.escalated || result.reassigned || result.decisionOverdue || result.decidedAtDeadline)
            this.logger.log({ msg: 'SLA escalation pass', ...result });
        },
        (error: unknown) => this.logger.error({ msg: 'SLA escalation pass failed', err: error }),
      )
      .finally(() => {
        this.running = false;
      });
  }
}
