import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { DomainError, ForbiddenError, UnauthenticatedError } from '@app/common';
import { type Caller } from '@app/http';

import { permissionsOf } from './permissions.js';
import { routePolicy } from './route-policy.js';

/**
 * What the client (and the log) is told about a rejected token: the reason, never the token and
 * never the configured issuer or audience (jsonwebtoken appends "expected: …" to those messages).
 */
export function describeTokenRejection(info: unknown): string {
  if (!(info instanceof Error)) return 'missing or invalid bearer token';
  switch (info.name) {
    case 'TokenExpiredError':
      return 'token expired';
    case 'NotBeforeError':
      return 'token not active yet';
    case 'JsonWebTokenError':
      return info.message.split('. expected')[0] ?? 'invalid token';
    default:
      return info.message === 'No auth token' ? 'missing bearer token' : 'invalid bearer token';
  }
}

/** Default deny: every route needs a valid token unless it is explicitly @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Public routes never look at Authorization, so even a garbage header cannot turn them into a 401.
    if (routePolicy(this.reflector, context).isPublic) return true;
    return super.canActivate(context) as Promise<boolean>;
  }

  override handleRequest<TUser = Caller>(error: unknown, user: TUser | false, info: unknown, context: ExecutionContext): TUser {
    const http = context.switchToHttp();
    if (error || !user) {
      http.getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer realm="api"');
      if (error instanceof DomainError) throw error;
      throw new UnauthenticatedError(`Authentication failed: ${describeTokenRejection(error ?? info)}`);
    }
    http.getRequest<FastifyRequest>().caller = user as unknown as Caller;
    return user;
  }
}

/** A protected route without @Allow(...) is closed to everyone: forgetting it cannot open a route. */
@Injectable()
export class PermissionsGuard {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const { isPublic, required } = routePolicy(this.reflector, context);
    if (isPublic) return true;
    const caller = context.switchToHttp().getRequest<FastifyRequest>().caller;
    const granted = permissionsOf(caller?.roles ?? []);
    if (required.some((permission) => granted.has(permission))) return true;
    throw new ForbiddenError('Your role may not call this endpoint');
  }
}
