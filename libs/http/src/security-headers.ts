import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

import { API_PREFIX } from './http-setup.js';

/**
 * Headers on every response, errors included: no MIME sniffing, no referrer, no framing, and a
 * Content-Security-Policy that lets the pages this service serves (Swagger UI at /docs) load only
 * their own scripts and styles. Upgrading insecure requests is left to whoever terminates TLS: the
 * service is also reached over plain HTTP on a loopback address. API answers are never cached.
 * `connectOrigins` are the other origins the console's scripts may call (its identity provider).
 */
export function applySecurityHeaders(app: INestApplication, connectOrigins: string[] = []): void {
  const express = app as NestExpressApplication;
  express.use(
    helmet({
      contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null, frameAncestors: ["'none'"], ...(connectOrigins.length > 0 ? { connectSrc: ["'self'", ...connectOrigins] } : {}) } },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  const apiPath = `/${API_PREFIX}/`;
  express.use((req: Request, res: Response, next: NextFunction) => {
    if (req.path.startsWith(apiPath)) res.setHeader('Cache-Control', 'no-store');
    next();
  });
}
