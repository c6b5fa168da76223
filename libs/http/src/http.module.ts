import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, DiscoveryModule } from '@nestjs/core';

import { ProblemDetailsFilter } from './problem.filter.js';
import { RouteCatalog } from './route-catalog.js';
import { createValidationPipe } from './validation.js';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    RouteCatalog,
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
  ],
  exports: [RouteCatalog],
})
export class HttpModule {}
