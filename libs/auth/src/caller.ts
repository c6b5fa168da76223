import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

import type { Caller } from '@app/http';

import { type Permission, permissionsOf } from './permissions.js';

/** The authenticated caller with its permissions, as the services see it. */
export class Actor {
  private readonly permissions: Set<Permission>;

  constructor(
    readonly sub: string,
    readonly roles: string[],
    readonly requestId: string | null,
  ) {
    this.permissions = permissionsOf(roles);
  }

  can(permission: Permission): boolean {
    return this.permissions.has(permission);
  }

  static system(): Actor {
    return new Actor('system:sla', ['system'], null);
  }
}

export function actorFromRequest(req: Request): Actor {
  const caller: Caller | undefined = req.caller;
  if (!caller) throw new Error('No authenticated caller on a protected route');
  return new Actor(caller.sub, caller.roles, req.requestId ?? null);
}

export const CurrentActor = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  return actorFromRequest(context.switchToHttp().getRequest<Request>());
});
