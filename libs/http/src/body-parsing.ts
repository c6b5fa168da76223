import express, { type NextFunction, type Request, type Response } from 'express';

import { DomainError } from './domain-error.js';

export const MAX_BODY_BYTES = 1024 * 1024;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

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

/** 415 for any body that is not JSON; bodies are optional (e.g. POST …/start sends none). */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (hasBody(req) && !isJson(req)) {
    next(new DomainError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be application/json'));
    return;
  }
  next();
}

/**
 * Strict JSON parsing: 1 MiB cap (413), malformed JSON is 400 without field errors, and the
 * prototype-pollution keys are refused anywhere in the document.
 */
export const jsonBodyParser = express.json({
  limit: MAX_BODY_BYTES,
  strict: false,
  type: () => true,
  reviver(key, value: unknown) {
    if (FORBIDDEN_KEYS.has(key)) throw new DomainError(400, 'VALIDATION_FAILED', `Key "${key}" is not allowed`, [{ field: key, message: 'is not allowed' }]);
    return value;
  },
});

/** Maps body-parser's own errors to the contract's codes before they reach the filter. */
export function bodyParserErrors(error: unknown, _req: Request, _res: Response, next: NextFunction): void {
  if (error instanceof DomainError) return next(error);
  const typed = error as { type?: string; status?: number };
  if (typed.type === 'entity.too.large') return next(new DomainError(413, 'PAYLOAD_TOO_LARGE', `Request bodies are limited to ${MAX_BODY_BYTES} bytes`));
  if (typed.type === 'entity.parse.failed') return next(new DomainError(400, 'VALIDATION_FAILED', 'Malformed JSON body'));
  if (typed.type === 'charset.unsupported' || typed.type === 'encoding.unsupported') {
    return next(new DomainError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding'));
  }
  if (typed.status !== undefined && typed.status >= 400 && typed.status < 500) return next(new DomainError(400, 'VALIDATION_FAILED', 'Invalid request body'));
  next(error);
}
