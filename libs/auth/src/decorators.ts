import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';

import type { Permission } from './permissions.js';

export const IS_PUBLIC = 'auth:public';
export const REQUIRED_PERMISSIONS = 'auth:permissions';

/** Opens a route to unauthenticated callers; every other route is denied by default. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/**
 * The caller needs at least one of these permissions. Ownership-scoped permissions (`…-own`,
 * `…-self`) are narrowed to the caller's own rows by the service, with one query.
 */
export function Allow(...permissions: Permission[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_PERMISSIONS, permissions),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'UNAUTHENTICATED: missing, invalid or expired token' }),
    ApiForbiddenResponse({ description: `FORBIDDEN: requires one of ${permissions.join(', ')}` }),
  );
}
