import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import type { Caller } from '@app/http';

import { type Permission, permissionsOf } from './permissions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The authenticated caller with its permissions, as the services see it. */
export class Actor {
  private readonly permissions: Set<Permission>;
  /**
   * The engineer id this caller's `sub` can name (a UUID, lower-cased), or null: a `sub` that is not
   * a UUID names no engineer, so it is never handed to SQL as one. Whether that engineer exists and
   * is not deleted is checked where ownership is.
   */
  readonly engineerId: string | null;

  constructor(
    readonly sub: string,
    readonly roles: string[],
    readonly requestId: string | null,
  ) {
    this.permissions = permissionsOf(roles);
    this.engineerId = UUID.test(sub) ? sub.toLowerCase() : null;
  }

  can(permission: Permission): boolean {
    return this.permissions.has(permission);
  }

  static system(): Actor {
    return new Actor('system:sla', ['system'], null);
  }
}

export function actorFromRequest(req: FastifyRequest): Actor {
  const caller: Caller | undefined = req.caller;
  if (!caller) throw new Error('No authenticated caller on a protected route');
  return new Actor(caller.sub, caller.roles, req.id);
}

export const CurrentActor = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  return actorFromRequest(context.switchToHttp().getRequest<FastifyRequest>());
});
