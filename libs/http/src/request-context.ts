import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import type { FastifyRequest } from 'fastify';

import type { DomainError } from '@app/common';

export interface Caller {
  sub: string;
  roles: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, set by the authentication guard. */
    caller?: Caller;
    /** Why the body could not be read; raised by RequestBodyErrorInterceptor, after authentication. */
    bodyError?: DomainError;
  }
}

const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * The request's id (Fastify's `request.id`): a sane X-Request-Id is echoed, otherwise one is made.
 * Every response and log line carries it.
 */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
}

/** The request's path, without its query: a problem's `instance`. */
export function pathOf(req: FastifyRequest): string {
  return req.originalUrl.split('?')[0] ?? req.url;
}
