import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Observable } from 'rxjs';

import { DomainError } from './domain-error.js';

declare module 'express' {
  interface Request {
    /** Why the body could not be read; raised by RequestBodyErrorInterceptor, after authentication. */
    bodyError?: DomainError;
  }
}

export const MAX_BODY_BYTES = 1024 * 1024;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Thrown by the JSON reviver. body-parser strips every own property but `message` from an error
 * thrown while parsing (and re-labels it a parse failure), so the key travels in the message.
 */
class ForbiddenKeyError extends Error {
  constructor(key: string) {
    super(key);
  }
}

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
    req.bodyError = new DomainError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be application/json');
    req.resume();
    next();
    return;
  }
  next();
}

/**
 * Strict JSON parsing: 1 MiB cap (413), malformed JSON is 400 without field errors, and the
 * prototype-pollution keys are refused anywhere in the document.
 */
const strictJson = express.json({
  limit: MAX_BODY_BYTES,
  strict: false,
  type: () => true,
  reviver(key, value: unknown) {
    if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(key);
    return value;
  },
});

export function jsonBodyParser(req: Request, res: Response, next: NextFunction): void {
  if (req.bodyError) return next();
  strictJson(req, res, next);
}

/**
 * Maps body-parser's own errors to the contract's codes. A body over the limit is refused at once
 * (413, before reading more of it); any other unreadable body is kept on the request and refused
 * after authentication by RequestBodyErrorInterceptor.
 */
export function bodyParserErrors(error: unknown, req: Request, _res: Response, next: NextFunction): void {
  const typed = error as { type?: string; status?: number };
  if (typed.type === 'entity.too.large') return next(new DomainError(413, 'PAYLOAD_TOO_LARGE', `Request bodies are limited to ${MAX_BODY_BYTES} bytes`));
  const deferred = unreadableBody(error);
  if (!deferred) return next(error);
  req.bodyError = deferred;
  req.body = undefined;
  next();
}

function unreadableBody(error: unknown): DomainError | undefined {
  if (error instanceof ForbiddenKeyError) {
    const key = error.message;
    return new DomainError(400, 'VALIDATION_FAILED', `Key "${key}" is not allowed`, [{ field: key, message: 'is not allowed' }]);
  }
  const typed = error as { type?: string; status?: number };
  if (typed.type === 'entity.parse.failed') return new DomainError(400, 'VALIDATION_FAILED', 'Malformed JSON body');
  if (typed.type === 'charset.unsupported' || typed.type === 'encoding.unsupported') {
    return new DomainError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding');
  }
  if (typed.status !== undefined && typed.status >= 400 && typed.status < 500) return new DomainError(400, 'VALIDATION_FAILED', 'Invalid request body');
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
