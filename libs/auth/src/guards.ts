import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';

import { type Caller, DomainError } from '@app/http';

import { IS_PUBLIC, REQUIRED_PERMISSIONS } from './decorators.js';
import { type Permission, permissionsOf } from './permissions.js';

/** Default deny: every route needs a valid token unless it is explicitly @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    return super.canActivate(context) as Promise<boolean>;
  }

  override handleRequest<TUser = Caller>(error: unknown, user: TUser | false, info: unknown, context: ExecutionContext): TUser {
    if (error instanceof DomainError) throw error;
    if (error || !user) {
      const reason = info instanceof Error ? info.message : 'missing or invalid bearer token';
      throw new DomainError(401, 'UNAUTHENTICATED', `Authentication failed: ${reason}`);
    }
    context.switchToHttp().getRequest<Request>().caller = user as unknown as Caller;
    return user;
  }

  private isPublic(context: ExecutionContext): boolean {
    return this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true;
  }
}

/** A protected route without @Allow(...) is closed to everyone: forgetting it cannot open a route. */
@Injectable()
export class PermissionsGuard {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const required = this.reflector.getAllAndOverride<Permission[] | undefined>(REQUIRED_PERMISSIONS, [context.getHandler(), context.getClass()]) ?? [];
    const caller = context.switchToHttp().getRequest<Request>().caller;
    const granted = permissionsOf(caller?.roles ?? []);
    if (required.some((permission) => granted.has(permission))) return true;
    throw new DomainError(403, 'FORBIDDEN', 'Your role may not call this endpoint');
  }
}
