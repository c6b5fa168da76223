import { Injectable, type OnModuleInit } from '@nestjs/common';

import { DatabaseGauges } from '@app/observability';

import { ReviewsRepository } from './reviews.repository.js';

/**
 * workload_drift_engineers, read at scrape time with the other database gauges (one snapshot) from
 * the query that also serves GET /admin/workload/drift: the reviews module owns it, and
 * observability, which may not import reviews, only runs it.
 */
@Injectable()
export class WorkloadDriftGauge implements OnModuleInit {
  constructor(
    private readonly gauges: DatabaseGauges,
    private readonly reviews: ReviewsRepository,
  ) {}

  onModuleInit(): void {
    this.gauges.addReading({
      name: 'workload_drift_engineers',
      help: 'Engineers whose current_review_count differs from their number of open reviews',
      read: (tx) => this.reviews.countDrifted(tx),
    });
  }
}
