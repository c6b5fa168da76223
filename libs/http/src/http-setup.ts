import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

import { installBodyParsing, MAX_BODY_BYTES } from './body-parsing.js';
import { parseQueryString } from './query-parser.js';
import { requestIdOf } from './request-context.js';
import { installResponseOverride } from './response-override.js';
import { RouteCatalog } from './route-catalog.js';

export const API_PREFIX = 'api/v1';
/** Controllers served at the root instead of under /api/v1. */
export const ROOT_CONTROLLERS = ['health', 'metrics'];

/**
 * A path parameter of any length reaches its route, so that an id that is not a UUID is the
 * validation's 400 rather than the router's 414; request lines are bounded by Node's header limit.
 */
const MAX_PARAM_LENGTH = 16 * 1024;
/** Node's own defaults for an HTTP server, which Fastify would otherwise change. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 300_000;

/** The HTTP platform: Fastify, with the request id, query parsing and router rules the contract needs. */
export function createHttpAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    genReqId: requestIdOf,
    bodyLimit: MAX_BODY_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions: { querystringParser: parseQueryString, ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  });
}

/**
 * Everything about the HTTP surface that must be identical in production and in tests: request ids,
 * strict JSON parsing, the global prefix and the route catalog behind 404/405. Nest's not-found
 * handler is Fastify's, for every path, so every unknown route reaches the problem filter (404, or
 * 405 for a known path).
 */
export function configureHttp(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.decorateRequest('caller', undefined);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader('X-Request-Id', request.id);
    done();
  });
  installBodyParsing(fastify);
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health/live', 'health/ready', 'metrics'] });
  app.get(RouteCatalog).setGlobalPrefix(API_PREFIX, ROOT_CONTROLLERS);
  installResponseOverride(app);
}
