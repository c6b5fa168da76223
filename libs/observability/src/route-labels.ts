import { Injectable } from '@nestjs/common';
import type { Request } from 'express';

import { RouteCatalog } from '@app/http';

interface KnownRoute {
  method: string;
  template: string;
  pattern: RegExp;
}

const UNMATCHED_ROUTE = 'unmatched';

function toPattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * The route template of a request (e.g. /api/v1/reviews/:id/start), never the raw path, so that
 * metric labels and log fields stay bounded. A request answered before routing (405, 413, 415)
 * gets the template its path matches; a path no route has is "unmatched".
 */
@Injectable()
export class RouteLabels {
  private known?: KnownRoute[];

  constructor(private readonly catalog: RouteCatalog) {}

  labelFor(req: Request): string {
    // Express keeps the matched route on the request. Nest's 404 handler is a route too, a
    // wildcard ("*path"), which names no template.
    const matched = (req.route as { path?: unknown } | undefined)?.path;
    if (typeof matched === 'string' && !matched.includes('*')) return `${req.baseUrl}${matched}`;
    const path = req.originalUrl.split('?')[0] ?? req.url;
    const candidates = this.load().filter((route) => route.pattern.test(path));
    return (candidates.find((route) => route.method === req.method) ?? candidates[0])?.template ?? UNMATCHED_ROUTE;
  }

  private load(): KnownRoute[] {
    if (this.known) return this.known;
    const parameterCount = (template: string): number => template.split('/').filter((segment) => segment.startsWith(':')).length;
    this.known = this.catalog
      .list()
      .map((route) => ({ method: route.method, template: route.path, pattern: toPattern(route.path) }))
      // Static segments win over parameters (/engineers/available before /engineers/:id), as in the router.
      .sort((a, b) => parameterCount(a.template) - parameterCount(b.template));
    return this.known;
  }
}
