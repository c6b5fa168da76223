import { Inject, Injectable } from '@nestjs/common';

import { APP_CONFIG, type AppConfig } from '@app/config';
import type { ReviewPriority } from '@app/database';

/** expectedCompletionAt = assignedAt + SLA(priority), from configuration (SLA_*_SECONDS). */
@Injectable()
export class ReviewDeadlines {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  slaSeconds(priority: ReviewPriority): number {
    return this.config.slaSeconds[priority];
  }
}
