import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';

import type { AppConfig } from '@app/config';
import { configureHttp, createHttpAdapter, Draining } from '@app/http';
import { observeRequests } from '@app/observability';

import { AppModule } from './app.module.js';
import { serveConsole } from './console.js';
import { buildOpenApiDocument } from './openapi.js';

/** Builds the fully configured application; bootstrap.ts and the tests share it. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const connectOrigins = config.oidc.issuer ? [new URL(config.oidc.issuer).origin] : [];
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createHttpAdapter(connectOrigins), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  observeRequests(app);
  app.get(Draining).install(app);
  configureHttp(app);
  await serveConsole(app, config);
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
  return app;
}
