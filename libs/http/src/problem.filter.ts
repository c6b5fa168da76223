import { type ArgumentsHost, Catch, type ExceptionFilter, Logger, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';

import { MethodNotAllowedError, NoRouteError } from './http.errors.js';
import { toProblem } from './problem.js';
import { RouteCatalog } from './route-catalog.js';

/** The contract: a 503 always says when to retry. */
const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/**
 * The one place where errors become responses: RFC 9457 problem+json with the contract's codes.
 * Unexpected errors are logged with the request id and answered with a bare 500, never a stack.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(private readonly routes: RouteCatalog) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const error = this.routerMiss(exception, req);
    const context = { path: req.originalUrl.split('?')[0] ?? req.url, requestId: req.requestId ?? '' };
    const { problem, unexpected } = toProblem(error, context);
    if (unexpected) {
      this.logger.error({ err: exception, requestId: context.requestId, path: context.path }, 'Unhandled error');
    } else if (problem.status === 401 || problem.status === 403) {
      this.logger.warn({ requestId: context.requestId, path: context.path, code: problem.code, detail: problem.detail }, 'Access denied');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (problem.status === 503 && !res.hasHeader('Retry-After'))
      res.setHeader('Retry-After', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS));
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  /** Express reports an unmatched route as 404; a path known under another method is a 405. */
  private routerMiss(exception: unknown, req: Request): unknown {
    if (!(exception instanceof NotFoundException) || !String(exception.message).startsWith('Cannot ')) return exception;
    const path = req.originalUrl.split('?')[0] ?? req.url;
    const allowed = this.routes.methodsFor(path);
    if (allowed.length > 0) {
      req.res?.setHeader('Allow', [...new Set(allowed)].join(', '));
      return new MethodNotAllowedError(req.method, path);
    }
    return new NoRouteError(req.method, path);
  }
}
