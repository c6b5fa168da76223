import { SetMetadata } from '@nestjs/common';

/** Metadata key read by the authentication guards, which live above this library. */
export const IS_PUBLIC = 'auth:public';

/** Opens a route to unauthenticated callers; every other route is denied by default. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
