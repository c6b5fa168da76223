import { createHash } from 'node:crypto';

import { applyDecorators, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { Problems } from '@app/http';

import { RateLimitedError } from './auth.errors.js';
import { routePolicy } from './route-policy.js';

export const ASSIGN_RATE_LIMITED = 'auth:assign-rate-limited';
/** The one throttler: every @AssignRateLimited() route draws from the same per-subject bucket. */
export const ASSIGN_THROTTLER = 'assign';

/**
 * Counts the call against the caller's (`sub`) assignment budget: ASSIGN_RATE_LIMIT calls per
 * ASSIGN_RATE_WINDOW_SECONDS, shared by every route that carries this decorator. Decided after
 * 401/403 and before validation; over the limit the call does nothing and answers 429.
 */
export function AssignRateLimited(): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(ASSIGN_RATE_LIMITED, true), Problems({ 429: ['RATE_LIMITED'] }));
}

/** Registered after the authentication and permission guards, so it always knows the caller. */
@Injectable()
export class AssignRateLimitGuard extends ThrottlerGuard {
  /** A route without @AssignRateLimited() passes at once, without the throttler's asynchronous steps. */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    return routePolicy(this.reflector, context).rateLimited ? super.canActivate(context) : Promise.resolve(true);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(!routePolicy(this.reflector, context).rateLimited);
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const caller = (req as unknown as FastifyRequest).caller;
    if (!caller) throw new Error('@AssignRateLimited() is only valid on authenticated routes');
    return Promise.resolve(caller.sub);
  }

  /** Not per route (the default): the whole family shares one bucket per subject. */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${createHash('sha256').update(tracker).digest('hex')}`;
  }

  protected override throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    context.switchToHttp().getResponse<FastifyReply>().header('Retry-After', String(retryAfter));
    const windowSeconds = Math.round(detail.ttl / 1000);
    throw new RateLimitedError(detail.limit, windowSeconds, retryAfter);
  }
}
