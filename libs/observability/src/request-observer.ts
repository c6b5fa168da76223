import { Injectable } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';

import { HttpMetrics } from './http-metrics.js';
import { RouteLabels } from './route-labels.js';
import { activeTraceId, exposeRouteForTracing } from './tracing.js';

/** Probes and scrapes arrive every few seconds; they are logged only when they fail. */
function isProbe(route: string): boolean {
  return route.startsWith('/health/') || route === '/metrics';
}

/**
 * Sees every request that reaches a route, the not-found handler included (unknown paths, 405,
 * and 413 while the body is read): records http_request_duration_seconds and writes the one access
 * log line of the request, and binds the request's id to every other line logged while handling it.
 * The caller and the status are read when the response is done, by which time the guards and the
 * handler have set them.
 */
@Injectable()
export class RequestObserver {
  constructor(
    private readonly metrics: HttpMetrics,
    private readonly routes: RouteLabels,
    private readonly logger: PinoLogger,
  ) {}

  readonly onRequest = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const started = process.hrtime.bigint();
    // Read here, in the request's own context: 'close' is emitted outside of it.
    const traceId = activeTraceId();
    if (traceId) exposeRouteForTracing(req.raw, () => this.routes.labelFor(req));
    reply.raw.once('close', () => this.completed(req, reply, Number(process.hrtime.bigint() - started) / 1e9, traceId));
    // The rest of the request (hooks, body parsing, guards, handler) logs with its id.
    this.logger.runInContext(done, { bindings: { reqId: req.id } });
  };

  private completed(req: FastifyRequest, reply: FastifyReply, seconds: number, traceId: string | undefined): void {
    const res = reply.raw;
    const route = this.routes.labelFor(req);
    const statusCode = res.statusCode;
    this.metrics.observe(req.method, route, statusCode, seconds);
    if (isProbe(route) && statusCode < 400) return;
    const level = statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
    // Under LOG_LEVEL=warn (or above) a success writes no line: do not build one.
    if (!this.logger.logger.isLevelEnabled(level)) return;
    const aborted = !res.writableFinished;
    const line = {
      requestId: req.id,
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

/** Mounts the observer on every request that reaches a route (a Fastify onRequest hook). */
export function observeRequests(app: NestFastifyApplication): void {
  app.getHttpAdapter().getInstance().addHook('onRequest', app.get(RequestObserver).onRequest);
}
