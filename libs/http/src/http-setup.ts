import type { ServerResponse } from 'node:http';

import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { API_PREFIX, ROOT_CONTROLLERS } from './api-prefix.js';
import { fromFrameworkError, installBodyParsing, MAX_BODY_BYTES } from './body-parsing.js';
import { sendProblem } from './problem.filter.js';
import { toProblem } from './problem.js';
import { parseQueryString } from './query-parser.js';
import { pathOf, requestIdOf } from './request-context.js';
import { installResponseOverride } from './response-override.js';
import { RouteCatalog } from './route-catalog.js';
import { securityHeaders } from './security-headers.js';

/**
 * A path parameter of any length reaches its route, so that an id that is not a UUID is the
 * validation's 400 rather than the router's 414; request lines are bounded by Node's header limit.
 */
const MAX_PARAM_LENGTH = 16 * 1024;
/** Node's own defaults for an HTTP server, which Fastify would otherwise change. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 300_000;

/**
 * The HTTP platform: Fastify, with the request id, query parsing and router rules the contract
 * needs. Every response carries its request id and the security headers, set on the raw response
 * as the request arrives (so that streamed answers carry them too), and also on what the router
 * refuses before any hook runs (a malformed URL), which is answered as problem+json like the rest.
 * `connectOrigins` are the other origins the console's scripts may call (its identity provider).
 */
export function createHttpAdapter(connectOrigins: string[] = []): FastifyAdapter {
  const applySecurityHeaders = securityHeaders(connectOrigins);
  const commonHeaders = (request: FastifyRequest, res: ServerResponse): void => {
    res.setHeader('X-Request-Id', request.id);
    applySecurityHeaders(request.url, res);
  };
  const adapter = new FastifyAdapter({
    genReqId: requestIdOf,
    bodyLimit: MAX_BODY_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions: { querystringParser: parseQueryString, ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      commonHeaders(request, reply.raw);
      sendProblem(reply, toProblem(fromFrameworkError(error) ?? error, { path: pathOf(request), requestId: request.id }).problem);
    },
  });
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    commonHeaders(request, reply.raw);
    done();
  });
  return adapter;
}

/**
 * Everything about the HTTP surface that must be identical in production and in tests: strict
 * JSON parsing, the global prefix and the route catalog behind 404/405. Nest's not-found handler
 * is Fastify's, for every path, so every unknown route reaches the problem filter (404, or 405 for
 * a known path).
 */
export function configureHttp(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.decorateRequest('caller', undefined);
  installBodyParsing(fastify);
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health/live', 'health/ready', 'metrics'] });
  app.get(RouteCatalog).setGlobalPrefix(API_PREFIX, ROOT_CONTROLLERS);
  installResponseOverride(app);
}
