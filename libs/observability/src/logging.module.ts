import type { IncomingMessage } from 'node:http';

import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { stdSerializers } from 'pino';

import { APP_CONFIG, type AppConfig } from '@app/config';

import { activeTraceId } from './tracing.js';

/**
 * pino-http also binds every request, serialized, to a second child logger that only its own
 * request logging (off) writes; pino serializes bindings when the child is made, so the standard
 * serializer (every header, then cloned by redaction) would run on every request for nothing.
 * That binding is a summary instead; errors and responses keep pino's standard serializers.
 */
function requestSummary(req: IncomingMessage & { id?: unknown }): Record<string, unknown> {
  return { id: req.id, method: req.method, url: req.url };
}

/**
 * Structured JSON logs through pino. The one access line per request is written by the
 * RequestObserver, so pino-http's own request logging is off; pino-http still gives every
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
          // Fastify's request id, which @fastify/middie copies onto the raw request before middleware runs.
          genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? '',
          autoLogging: false,
          quietReqLogger: true,
          wrapSerializers: false,
          serializers: { req: requestSummary, res: stdSerializers.res, err: stdSerializers.err },
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
