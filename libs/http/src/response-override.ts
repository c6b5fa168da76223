import type { INestApplication } from '@nestjs/common';
import type { Response } from 'express';

interface ResponseOverride {
  status: number;
  contentType?: string;
}

const OVERRIDE = Symbol('responseOverride');

/**
 * Lets a handler or interceptor answer with a status other than the route's fixed one (an
 * idempotent replay, an existing incident returned with 200). Nest's express adapter otherwise
 * always applies the route's @HttpCode (201 for POST) when it writes the handler's result.
 */
export function overrideResponse(res: Response, status: number, contentType?: string): void {
  (res as Response & { [OVERRIDE]?: ResponseOverride })[OVERRIDE] = { status, contentType };
}

export function responseStatusOverride(res: Response): number | undefined {
  return (res as Response & { [OVERRIDE]?: ResponseOverride })[OVERRIDE]?.status;
}

export function installResponseOverride(app: INestApplication): void {
  const adapter = app.getHttpAdapter();
  const reply = adapter.reply.bind(adapter);
  adapter.reply = (response: Response & { [OVERRIDE]?: ResponseOverride }, body: unknown, statusCode?: number) => {
    const override = response[OVERRIDE];
    if (!override) return reply(response, body, statusCode);
    if (override.contentType) {
      return response.status(override.status).type(override.contentType).send(JSON.stringify(body));
    }
    return reply(response, body, override.status);
  };
}
