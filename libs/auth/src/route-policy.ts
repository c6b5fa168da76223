import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

import { IS_PUBLIC } from '@app/http';

import { ASSIGN_RATE_LIMITED } from './assign-rate-limit.js';
import { REQUIRED_PERMISSIONS } from './decorators.js';
import type { Permission } from './permissions.js';

/** What the guards need to know about a route, read from its decorators. */
export interface RoutePolicy {
  isPublic: boolean;
  required: Permission[];
  rateLimited: boolean;
}

/** By class, then handler: a handler inherited by two controllers may have two policies. */
const policies = new WeakMap<object, WeakMap<object, RoutePolicy>>();

/**
 * The route's policy, read through the reflector once per handler: decorators are applied when the
 * classes are defined and never change afterwards, so the three guards need not walk the metadata
 * of the handler and its class again on every request.
 */
export function routePolicy(reflector: Reflector, context: ExecutionContext): RoutePolicy {
  const handler = context.getHandler();
  const controller = context.getClass();
  let byHandler = policies.get(controller);
  if (!byHandler) policies.set(controller, (byHandler = new WeakMap()));
  let policy = byHandler.get(handler);
  if (!policy) {
    const targets = [handler, controller];
    policy = {
      isPublic: reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true,
      required: reflector.getAllAndOverride<Permission[] | undefined>(REQUIRED_PERMISSIONS, targets) ?? [],
      rateLimited: reflector.getAllAndOverride<boolean | undefined>(ASSIGN_RATE_LIMITED, targets) === true,
    };
    byHandler.set(handler, policy);
  }
  return policy;
}
