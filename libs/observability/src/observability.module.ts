import { Global, Module } from '@nestjs/common';

import { ReviewMetrics } from './review-metrics.js';

@Global()
@Module({
  providers: [ReviewMetrics],
  exports: [ReviewMetrics],
})
export class ObservabilityModule {}
