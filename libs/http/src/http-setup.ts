import type { INestApplication } from '@nestjs/common';
import type { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';

import { bodyParserErrors, checkBodyContent, jsonBodyParser, requireJsonBody } from './body-parsing.js';
import { toProblem } from './problem.js';
import { parseQueryString } from './query-parser.js';
import { requestIdMiddleware } from './request-context.js';
import { installResponseOverride } from './response-override.js';
import { RouteCatalog } from './route-catalog.js';

export const API_PREFIX = 'api/v1';
/** Controllers served at the root instead of under /api/v1. */
export const ROOT_CONTROLLERS = ['health', 'metrics'];

function renderMiddlewareError(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  const { problem } = toProblem(error, { path: req.originalUrl.split('?')[0] ?? req.url, requestId: req.requestId ?? '' });
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/**
 * Nest mounts its not-found handler under the global prefix only, so a request outside /api/v1
 * that matches no route would get Express's HTML page; mounted at the root, every unknown route
 * reaches the problem filter (404, or 405 for a known path).
 */
function answerUnknownRoutesEverywhere(app: INestApplication): void {
  const adapter = app.getHttpAdapter() as ExpressAdapter;
  const setNotFoundHandler = adapter.setNotFoundHandler.bind(adapter);
  adapter.setNotFoundHandler = (handler: Parameters<ExpressAdapter['setNotFoundHandler']>[0]) => setNotFoundHandler(handler);
}

/**
 * Everything about the HTTP surface that must be identical in production and in tests: request ids,
 * strict JSON parsing, the global prefix and the route catalog behind 404/405.
 */
export function configureHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.set('query parser', parseQueryString);
  express.use(requestIdMiddleware);
  express.use(requireJsonBody);
  express.use(jsonBodyParser);
  express.use((error: unknown, req: Request, res: Response, next: NextFunction) =>
    bodyParserErrors(error, req, res, (mapped?: unknown) => (mapped ? renderMiddlewareError(mapped, req, res, next) : next())),
  );
  express.use(checkBodyContent);
  express.setGlobalPrefix(API_PREFIX, { exclude: ['health/live', 'health/ready', 'metrics'] });
  app.get(RouteCatalog).setGlobalPrefix(API_PREFIX, ROOT_CONTROLLERS);
  answerUnknownRoutesEverywhere(app);
  installResponseOverride(app);
}
