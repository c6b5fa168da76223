import { Injectable, RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';

export interface RouteDefinition {
  method: string;
  /** The router's template, e.g. /api/v1/reviews/:id/start */
  path: string;
  controller: Type;
  handler: string;
}

function joinPath(...parts: string[]): string {
  const joined = parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/');
  return `/${joined}`;
}

function toPattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * Every route the application registers, read from Nest's own metadata. The exception filter uses
 * it to answer 405 instead of 404 for a known path, and the authorization matrix test uses it so
 * that no route can ship without a policy.
 */
@Injectable()
export class RouteCatalog {
  private routes?: (RouteDefinition & { pattern: RegExp })[];
  private globalPrefix = '';
  private readonly prefixExclusions = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  setGlobalPrefix(prefix: string, excludedControllerPaths: string[]): void {
    this.globalPrefix = prefix;
    excludedControllerPaths.forEach((path) => this.prefixExclusions.add(path));
    this.routes = undefined;
  }

  list(): RouteDefinition[] {
    return this.load().map(({ pattern: _pattern, ...route }) => route);
  }

  methodsFor(path: string): string[] {
    return this.match(path).map((route) => route.method);
  }

  /** Routes whose template matches the path, static segments first (/engineers/available before /engineers/:id), as in the router. */
  match(path: string): RouteDefinition[] {
    return this.load().filter((route) => route.pattern.test(path));
  }

  private load(): (RouteDefinition & { pattern: RegExp })[] {
    if (this.routes) return this.routes;
    const routes: (RouteDefinition & { pattern: RegExp })[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | undefined;
      const instance = wrapper.instance as object | undefined;
      if (!controller || !instance) continue;
      const controllerPaths = [this.reflector.get<string | string[]>(PATH_METADATA, controller) ?? ''].flat();
      for (const handler of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance) as object)) {
        const callback = (instance as Record<string, unknown>)[handler] as (...args: unknown[]) => unknown;
        const methodPath = this.reflector.get<string | string[] | undefined>(PATH_METADATA, callback);
        const requestMethod = this.reflector.get<RequestMethod | undefined>(METHOD_METADATA, callback);
        if (methodPath === undefined || requestMethod === undefined) continue;
        for (const controllerPath of controllerPaths) {
          for (const subPath of [methodPath].flat()) {
            const prefix = this.prefixExclusions.has(String(controllerPath)) ? '' : this.globalPrefix;
            const path = joinPath(prefix, String(controllerPath), String(subPath));
            routes.push({ method: RequestMethod[requestMethod], path, controller, handler, pattern: toPattern(path) });
          }
        }
      }
    }
    const parameterCount = (template: string): number => template.split('/').filter((segment) => segment.startsWith(':')).length;
    this.routes = routes.sort((a, b) => parameterCount(a.path) - parameterCount(b.path));
    return this.routes;
  }
}
