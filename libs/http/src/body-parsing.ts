import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Observable } from 'rxjs';

import { type DomainError, ValidationFailedError } from '@app/common';

import { bodyContentViolation, bodyLimitViolation } from './body-limits.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from './http.errors.js';

declare module 'express' {
  interface Request {
    /** Why the body could not be read; raised by RequestBodyErrorInterceptor, after authentication. */
    bodyError?: DomainError;
  }
}

export const MAX_BODY_BYTES = 1024 * 1024;

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function isJson(req: Request): boolean {
  const type = req.headers['content-type'];
  if (!type) return false;
  const [mediaType, ...parameters] = type.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') return false;
  return parameters.every((parameter) => parameter === '' || parameter === 'charset=utf-8');
}

/**
 * 415 for any body that is not JSON; bodies are optional (e.g. POST …/start sends none). Deferred
 * like a malformed body: the contract puts 401, 403 and 429 first, and an unknown route is a 404.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (hasBody(req) && !isJson(req)) {
    req.bodyError = new UnsupportedMediaTypeError('Request bodies must be application/json');
    req.resume();
    next();
    return;
  }
  next();
}

/** Thrown from body-parser's verify hook, which keeps the error as thrown (its parse step does not). */
class BodyLimitError extends Error {
  constructor(readonly problem: DomainError) {
    super(problem.detail);
  }
}

/**
 * A 1 MiB cap (413); the key and depth limits checked on the raw bytes, so that a body beyond them
 * is never parsed; then plain JSON.parse (a reviver would run for every value, before
 * authentication). Malformed JSON is 400 without field errors. Any JSON value is parsed, so that a
 * whole body that is not an object is refused by validation as a 400 rather than by the parser.
 */
const plainJson = express.json({
  limit: MAX_BODY_BYTES,
  strict: false,
  type: () => true,
  verify(_req, _res, bytes) {
    const violation = bodyLimitViolation(bytes);
    if (violation) throw new BodyLimitError(violation);
  },
});

export function jsonBodyParser(req: Request, res: Response, next: NextFunction): void {
  if (req.bodyError) return next();
  plainJson(req, res, next);
}

/** Forbidden keys and U+0000, found in one pass right after parsing; refused after authentication like any unreadable body. */
export function checkBodyContent(req: Request, _res: Response, next: NextFunction): void {
  if (!req.bodyError && req.body !== undefined) {
    const violation = bodyContentViolation(req.body);
    if (violation) {
      req.bodyError = violation;
      req.body = undefined;
    }
  }
  next();
}

/**
 * Maps body-parser's own errors to the contract's codes. A body over the limit is refused at once
 * (413, before reading more of it); any other unreadable body is kept on the request and refused
 * after authentication by RequestBodyErrorInterceptor.
 */
export function bodyParserErrors(error: unknown, req: Request, _res: Response, next: NextFunction): void {
  const typed = error as { type?: string; status?: number };
  if (typed.type === 'entity.too.large') return next(new PayloadTooLargeError(MAX_BODY_BYTES));
  const deferred = unreadableBody(error);
  if (!deferred) return next(error);
  req.bodyError = deferred;
  req.body = undefined;
  next();
}

function unreadableBody(error: unknown): DomainError | undefined {
  if (error instanceof BodyLimitError) return error.problem;
  const typed = error as { type?: string; status?: number };
  if (typed.type === 'entity.parse.failed') return new ValidationFailedError('Malformed JSON body');
  if (typed.type === 'charset.unsupported' || typed.type === 'encoding.unsupported') {
    return new UnsupportedMediaTypeError('Unsupported body encoding');
  }
  if (typed.status !== undefined && typed.status >= 400 && typed.status < 500) return new ValidationFailedError('Invalid request body');
  return undefined;
}

/**
 * Raises the body error recorded by the parsing middleware. Interceptors run after the guards, so
 * a request with an unreadable body still gets its 401, 403 or 429 first; registered before the
 * idempotency interceptor, so such a request claims no key.
 */
@Injectable()
export class RequestBodyErrorInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { bodyError } = context.switchToHttp().getRequest<Request>();
    if (bodyError) throw bodyError;
    return next.handle();
  }
}
