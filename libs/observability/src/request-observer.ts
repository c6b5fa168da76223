import { type INestApplication, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';

import { HttpMetrics } from './http-metrics.js';
import { RouteLabels } from './route-labels.js';
import { activeTraceId, exposeRouteForTracing } from './tracing.js';

/** Probes and scrapes arrive every few seconds; they are logged only when they fail. */
function isProbe(route: string): boolean {
  return route.startsWith('/health/') || route === '/metrics';
}

/**
 * Sees every request, including those answered by middleware before routing (413, 415) and
 * unknown paths outside /api/v1: records http_request_duration_seconds and writes the one access
 * log line of the request. Request id, caller and route are read when the response is done, by
 * which time the request-id middleware and the guards have set them.
 */
@Injectable()
export class RequestObserver {
  constructor(
    private readonly metrics: HttpMetrics,
    private readonly routes: RouteLabels,
    private readonly logger: PinoLogger,
  ) {}

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    // Read here, in the request's own context: 'close' is emitted outside of it.
    const traceId = activeTraceId();
    if (traceId) exposeRouteForTracing(req, () => this.routes.labelFor(req));
    res.once('close', () => this.completed(req, res, Number(process.hrtime.bigint() - started) / 1e9, traceId));
    next();
  };

  private completed(req: Request, res: Response, seconds: number, traceId: string | undefined): void {
    const route = this.routes.labelFor(req);
    const statusCode = res.statusCode;
    this.metrics.observe(req.method, route, statusCode, seconds);
    if (isProbe(route) && statusCode < 400) return;
    const level = statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
    // Under LOG_LEVEL=warn (or above) a success writes no line: do not build one.
    if (!this.logger.logger.isLevelEnabled(level)) return;
    const aborted = !res.writableFinished;
    const line = {
      requestId: req.requestId ?? res.getHeader('x-request-id'),
      method: req.method,
      url: req.originalUrl,
      route,
      statusCode,
      responseTime: Math.round(seconds * 10_000) / 10,
      sub: req.caller?.sub,
      ...(traceId ? { traceId } : {}),
      ...(aborted ? { aborted } : {}),
    };
    // A fresh context on the root logger: the line must not inherit bindings of whatever request
    // context the 'close' event happens to be emitted in.
    this.logger.runInContext(() => this.logger[level](line, aborted ? 'request aborted' : 'request completed'));
  }
}

/** Mounts the observer in front of every other middleware; call before configureHttp(app). */
export function observeRequests(app: INestApplication): void {
  app.use(app.get(RequestObserver).middleware);
}
