import type { IncomingMessage, ServerResponse } from 'node:http';

import { Module } from '@nestjs/common';
import type { Request } from 'express';
import { LoggerModule } from 'nestjs-pino';

import { APP_CONFIG, type AppConfig } from '@app/config';

/**
 * Structured JSON logs: one line per request with request id, route template, status, duration
 * and the caller's sub; credentials are redacted wherever they appear.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          genReqId: (req: IncomingMessage) => (req as Request).requestId ?? '',
          redact: {
            paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.token', '*.secret', '*.password'],
            censor: '[redacted]',
          },
          serializers: {
            req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
          customProps: (req: IncomingMessage) => {
            const request = req as Request;
            return { requestId: request.requestId, sub: request.caller?.sub, route: routeOf(request) };
          },
          customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
            error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
          autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health/') },
          quietReqLogger: true,
        },
      }),
    }),
  ],
})
export class LoggingModule {}

export function routeOf(req: Request): string {
  const template = (req.route as { path?: string } | undefined)?.path;
  return template ? `${req.baseUrl ?? ''}${template}` : 'unmatched';
}
