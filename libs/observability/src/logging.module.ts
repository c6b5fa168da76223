import type { IncomingMessage } from 'node:http';

import { Module } from '@nestjs/common';
import type { Request } from 'express';
import { LoggerModule } from 'nestjs-pino';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { activeTraceId } from './tracing.js';

/**
 * Structured JSON logs through pino. The one access line per request is written by the
 * RequestObserver (it also sees requests that never reach Nest's middleware: 413, 415, unknown
 * paths outside /api/v1), so pino-http's own request logging is off; pino-http still gives every
 * log made while handling a request the request id (`reqId`), and every log made
 * inside a traced span its `traceId`. Credentials are redacted wherever
 * they appear in a logged object.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          genReqId: (req: IncomingMessage) => (req as Request).requestId ?? '',
          autoLogging: false,
          quietReqLogger: true,
          mixin: () => {
            const traceId = activeTraceId();
            return traceId ? { traceId } : {};
          },
          redact: {
            paths: [
              'req.headers.authorization',
              'req.headers.cookie',
              'headers.authorization',
              'headers.cookie',
              '*.authorization',
              '*.token',
              '*.secret',
              '*.password',
            ],
            censor: '[redacted]',
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
