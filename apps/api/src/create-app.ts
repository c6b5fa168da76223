import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';

import type { AppConfig } from '@app/config';
import { applySecurityHeaders, configureHttp, Draining } from '@app/http';
import { observeRequests } from '@app/observability';

import { AppModule } from './app.module.js';
import { serveConsoleConfig } from './console.js';
import { buildOpenApiDocument } from './openapi.js';

/** Builds the fully configured application; bootstrap.ts and the tests share it. */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(Logger));
  applySecurityHeaders(app, config.oidc.issuer ? [new URL(config.oidc.issuer).origin] : []);
  app.use(app.get(Draining).middleware());
  observeRequests(app);
  configureHttp(app);
  serveConsoleConfig(app, config);
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
  return app;
}
