import { type ArgumentsHost, Catch, type ExceptionFilter, Logger, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { fromFrameworkError } from './body-parsing.js';
import { MethodNotAllowedError, NoRouteError } from './http.errors.js';
import { type ProblemDetails, toProblem } from './problem.js';
import { pathOf } from './request-context.js';
import { RouteCatalog } from './route-catalog.js';

/** Writes a problem as the answer: its status, `application/problem+json`, the body. */
export function sendProblem(reply: FastifyReply, problem: ProblemDetails): void {
  void reply.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/** The contract: a 503 always says when to retry. */
const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/**
 * Where errors thrown while handling a request become responses (what the router refuses before any
 * hook is written the same way, by http-setup): RFC 9457 problem+json with the contract's codes.
 * Unexpected errors are logged with the request id and answered with a bare 500, never a stack.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  constructor(private readonly routes: RouteCatalog) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const error = fromFrameworkError(exception) ?? this.routerMiss(exception, req, reply);
    const context = { path: pathOf(req), requestId: req.id };
    const { problem, unexpected } = toProblem(error, context);
    if (unexpected) {
      this.logger.error({ err: exception, requestId: context.requestId, path: context.path }, 'Unhandled error');
    } else if (problem.status === 401 || problem.status === 403) {
      this.logger.warn({ requestId: context.requestId, path: context.path, code: problem.code, detail: problem.detail }, 'Access denied');
    }
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    if (problem.status === 503 && !reply.hasHeader('Retry-After'))
      reply.header('Retry-After', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS));
    sendProblem(reply, problem);
  }

  /** The router reports an unmatched route as 404; a path known under another method is a 405. */
  private routerMiss(exception: unknown, req: FastifyRequest, reply: FastifyReply): unknown {
    if (!(exception instanceof NotFoundException) || !String(exception.message).startsWith('Cannot ')) return exception;
    const path = pathOf(req);
    const allowed = this.routes.methodsFor(path);
    if (allowed.length > 0) {
      reply.header('Allow', [...new Set(allowed)].join(', '));
      return new MethodNotAllowedError(req.method, path);
    }
    return new NoRouteError(req.method, path);
  }
}
