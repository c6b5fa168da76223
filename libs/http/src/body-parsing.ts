import type { IncomingHttpHeaders } from 'node:http';

import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';

import { type DomainError, ValidationFailedError } from '@app/common';

import { bodyContentViolation, bodyLimitViolation } from './body-limits.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './http.errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;
/** Some clients start UTF-8 with it; it is not part of the JSON text. */
const BYTE_ORDER_MARK = 0xfeff;

function notJsonBody(): DomainError {
  return new UnsupportedMediaTypeError('Request bodies must be application/json');
}

function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
}

function isJson(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  if (!type) return false;
  const [mediaType, ...parameters] = type.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') return false;
  return parameters.every((parameter) => parameter === '' || parameter === 'charset=utf-8');
}

/**
 * The key and depth limits checked on the raw bytes, so that a body beyond them is never parsed;
 * then plain JSON.parse (a reviver would run for every value, before authentication); then forbidden
 * keys and U+0000 in one pass. Any JSON value is parsed, so that a whole body that is not an object
 * is refused by validation as a 400 rather than here. An empty body is no body; a leading byte order
 * mark is skipped.
 */
function parseJsonBody(bytes: Buffer): { body?: unknown; error?: DomainError } {
  if (bytes.length === 0) return {};
  const limit = bodyLimitViolation(bytes);
  if (limit) return { error: limit };
  const text = bytes.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text);
  } catch {
    return { error: new ValidationFailedError('Malformed JSON body') };
  }
  const content = bodyContentViolation(body);
  return content ? { error: content } : { body };
}

/**
 * Request bodies: at most 1 MiB, refused at once with 413 before more of it is read (Fastify's
 * `bodyLimit`, mapped by the problem filter). Any other unreadable body (not JSON, a charset other
 * than UTF-8, malformed, beyond the limits) is kept on the request as `bodyError` and refused after
 * authentication by RequestBodyErrorInterceptor: the contract puts 401, 403 and 429 first, and an
 * unknown route is a 404. Bodies are optional (POST …/start sends none).
 */
export function installBodyParsing(fastify: FastifyInstance): void {
  fastify.decorateRequest('bodyError', undefined);
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (hasBody(request.headers) && !isJson(request.headers)) {
      request.bodyError = notJsonBody();
    }
    done();
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (request, bytes, done) => {
    if (request.bodyError) return done(null, undefined);
    const { body, error } = parseJsonBody(bytes as Buffer);
    request.bodyError = error;
    done(null, body);
  });
  // Every other type was refused by the hook above: its body is discarded unread.
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    payload.resume();
    done(null, undefined);
  });
}

const FRAMEWORK_ERRORS: Record<string, () => DomainError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new PayloadTooLargeError(MAX_BODY_BYTES),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: notJsonBody,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new ValidationFailedError('Invalid request body'),
  FST_ERR_BAD_URL: () => new ValidationFailedError('Malformed URL'),
};

/**
 * The contract's error for what Fastify refuses itself before any handler runs (a body too large,
 * a malformed URL), as Fastify raises it or as Nest wraps it (an HttpException whose cause it is).
 */
export function fromFrameworkError(error: unknown): DomainError | undefined {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  const framework = typeof code === 'string' ? code : cause?.code;
  return typeof framework === 'string' ? FRAMEWORK_ERRORS[framework]?.() : undefined;
}

/**
 * Raises the body error recorded while parsing. Interceptors run after the guards, so a request
 * with an unreadable body still gets its 401, 403 or 429 first; registered before the idempotency
 * interceptor, so such a request claims no key.
 */
@Injectable()
export class RequestBodyErrorInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { bodyError } = context.switchToHttp().getRequest<FastifyRequest>();
    if (bodyError) throw bodyError;
    return next.handle();
  }
}
