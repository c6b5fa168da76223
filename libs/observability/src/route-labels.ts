import { Injectable } from '@nestjs/common';
import type { Request } from 'express';

import { RouteCatalog } from '@app/http';

const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route template of a request (e.g. /api/v1/reviews/:id/start), never the raw path, so that
 * metric labels and log fields stay bounded. A request answered before routing (405, 413, 415)
 * gets the template its path matches; a path no route has is "unmatched".
 */
@Injectable()
export class RouteLabels {
  constructor(private readonly catalog: RouteCatalog) {}

  labelFor(req: Request): string {
    // Express keeps the matched route on the request. Nest's 404 handler is a route too, a
    // wildcard ("*path"), which names no template.
    const matched = (req.route as { path?: unknown } | undefined)?.path;
    if (typeof matched === 'string' && !matched.includes('*')) return `${req.baseUrl}${matched}`;
    const path = req.originalUrl.split('?')[0] ?? req.url;
    const candidates = this.catalog.match(path);
    return (candidates.find((route) => route.method === req.method) ?? candidates[0])?.path ?? UNMATCHED_ROUTE;
  }
}
