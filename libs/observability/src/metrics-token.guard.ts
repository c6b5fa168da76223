import { createHash, timingSafeEqual } from 'node:crypto';

import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { UnauthenticatedError } from '@app/common';
import { APP_CONFIG, type AppConfig } from '@app/config';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * With METRICS_TOKEN set, /metrics needs exactly `Authorization: Bearer <METRICS_TOKEN>`; a JWT is
 * no substitute. Digests of equal length are compared, so the time taken reveals neither the
 * token nor its length. Without METRICS_TOKEN the route is open and ignores Authorization.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = config.metricsToken === undefined ? undefined : digest(`Bearer ${config.metricsToken}`);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const http = context.switchToHttp();
    const presented = http.getRequest<FastifyRequest>().headers.authorization ?? '';
    if (timingSafeEqual(digest(presented), this.expected)) return true;
    http.getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer realm="metrics"');
    throw new UnauthenticatedError('The metrics endpoint requires the metrics token');
  }
}
