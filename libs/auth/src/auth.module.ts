import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule, type ThrottlerModuleOptions } from '@nestjs/throttler';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { ASSIGN_THROTTLER, AssignRateLimitGuard } from './assign-rate-limit.js';
import { JwtAuthGuard, PermissionsGuard } from './guards.js';
import { JwtStrategy } from './jwt.strategy.js';
import { createAssignRateLimitStore } from './rate-limit-store.js';

/** Guards run in this order: authentication (401), permission (403), then rate limit (429). */
@Module({
  imports: [
    PassportModule,
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): ThrottlerModuleOptions => ({
        throttlers: [{ name: ASSIGN_THROTTLER, limit: config.assignRateLimit.limit, ttl: config.assignRateLimit.windowSeconds * 1000 }],
        storage: createAssignRateLimitStore(config),
        // Only Retry-After is sent, and only on a 429 (see AssignRateLimitGuard).
        setHeaders: false,
      }),
    }),
  ],
  providers: [
    JwtStrategy,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: PermissionsGuard },
    { provide: APP_GUARD, useClass: AssignRateLimitGuard },
  ],
})
export class AuthModule {}
