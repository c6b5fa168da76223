import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import { pathOf, RouteCatalog } from '@app/http';

const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route template of a request (e.g. /api/v1/reviews/:id/start), never the raw path, so that
 * metric labels and log fields stay bounded. A request answered by the not-found handler (404, 405)
 * or by a wildcard route (static files) gets the template its path matches; a path no route has is
 * "unmatched".
 */
@Injectable()
export class RouteLabels {
  constructor(private readonly catalog: RouteCatalog) {}

  labelFor(req: FastifyRequest): string {
    const matched = req.is404 ? undefined : req.routeOptions.url;
    if (matched !== undefined && !matched.includes('*')) return matched;
    const candidates = this.catalog.match(pathOf(req));
    return (candidates.find((route) => route.method === req.method) ?? candidates[0])?.path ?? UNMATCHED_ROUTE;
  }
}
