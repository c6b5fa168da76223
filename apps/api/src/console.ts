import path from 'node:path';

import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';

import type { AppConfig } from '@app/config';

export const CONSOLE_PATH = '/console';

/** Where `npm run build` puts the console's static files (the service runs from the project root). */
export function consoleRoot(root = process.cwd()): string {
  return path.join(root, 'dist', 'console');
}

/**
 * The console reads its sign-in settings at run time, so one build serves every deployment. Only
 * what a browser may know: the issuer and the public client id.
 */
export function serveConsoleConfig(app: INestApplication, config: AppConfig): void {
  const body = { issuer: config.oidc.issuer ?? null, clientId: config.oidc.clientId ?? null };
  (app as NestExpressApplication)
    .getHttpAdapter()
    .getInstance()
    .get(`${CONSOLE_PATH}/config.json`, (_req: Request, res: Response) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.json(body);
    });
}
