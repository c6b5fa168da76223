import { randomUUID } from 'node:crypto';

import type { NextFunction, Request, Response } from 'express';

export interface Caller {
  sub: string;
  roles: string[];
}

declare module 'express' {
  interface Request {
    requestId?: string;
    caller?: Caller;
  }
}

const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,200}$/;

/** Echoes a sane X-Request-Id or makes one; every response and log line carries it. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.header('x-request-id');
  const requestId = incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
  req.requestId = requestId;
  res.setHeader('X-Request-Id', requestId);
  next();
}
