import path from 'node:path';

import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

import type { AppConfig } from '@app/config';

export const CONSOLE_PATH = '/console';

/** Where `npm run build` puts the console's static files (the service runs from the project root). */
export function consoleRoot(root = process.cwd()): string {
  return path.join(root, 'dist', 'console');
}

/**
 * The console's page and assets under /console/ (its routes live in the fragment, so /console/ is
 * its only page): hashed assets are cached for good, everything else is revalidated. It reads its
 * sign-in settings at run time, so one build serves every deployment: only what a browser may know,
 * the issuer and the public client id.
 */
export async function serveConsole(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const settings = { issuer: config.oidc.issuer ?? null, clientId: config.oidc.clientId ?? null };
  fastify.get(`${CONSOLE_PATH}/config.json`, (_request, reply) => {
    void reply.header('Cache-Control', 'no-cache').send(settings);
  });
  // The page itself, with or without its trailing slash (the router ignores trailing slashes, so the
  // static files' wildcard route never sees /console/).
  fastify.get(CONSOLE_PATH, (_request, reply) => {
    void reply.header('Cache-Control', 'no-cache').sendFile('index.html');
  });
  await fastify.register(fastifyStatic, {
    root: consoleRoot(),
    prefix: `${CONSOLE_PATH}/`,
    setHeaders: (reply, file) => {
      const hashed = file.includes(`${path.sep}assets${path.sep}`);
      void reply.header('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
