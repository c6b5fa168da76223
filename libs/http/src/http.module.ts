import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE, DiscoveryModule } from '@nestjs/core';

import { RequestBodyErrorInterceptor } from './body-parsing.js';
import { Draining } from './draining.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyPurger } from './idempotency.purger.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { ProblemDetailsFilter } from './problem.filter.js';
import { RouteCatalog } from './route-catalog.js';
import { createValidationPipe } from './validation.js';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    Draining,
    RouteCatalog,
    IdempotencyRepository,
    IdempotencyPurger,
    // Global interceptors run in this order: a request with an unreadable body claims no idempotency key.
    { provide: APP_INTERCEPTOR, useClass: RequestBodyErrorInterceptor },
    { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
  ],
  exports: [Draining, RouteCatalog],
})
export class HttpModule {}
