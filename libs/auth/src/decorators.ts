import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';

import { Problems } from '@app/http';

import type { Permission } from './permissions.js';

export const REQUIRED_PERMISSIONS = 'auth:permissions';

/**
 * The caller needs at least one of these permissions. Ownership-scoped permissions (`…-own`,
 * `…-self`) are narrowed to the caller's own rows by the service, with one query.
 */
export function Allow(...permissions: Permission[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_PERMISSIONS, permissions),
    ApiBearerAuth(),
    Problems({ 401: ['UNAUTHENTICATED'], 403: ['FORBIDDEN'] }),
  );
}
