import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';

interface ResponseOverride {
  status: number;
  contentType?: string;
}

const OVERRIDE = Symbol('responseOverride');

type Overridable = FastifyReply & { [OVERRIDE]?: ResponseOverride };

/**
 * Lets a handler or interceptor answer with a status other than the route's fixed one (an
 * idempotent replay, an existing incident returned with 200). Nest otherwise always applies the
 * route's @HttpCode (201 for POST) when it writes the handler's result.
 */
export function overrideResponse(reply: FastifyReply, status: number, contentType?: string): void {
  (reply as Overridable)[OVERRIDE] = { status, contentType };
}

export function responseStatusOverride(reply: FastifyReply): number | undefined {
  return (reply as Overridable)[OVERRIDE]?.status;
}

export function installResponseOverride(app: NestFastifyApplication): void {
  const adapter = app.getHttpAdapter();
  const reply = adapter.reply.bind(adapter);
  adapter.reply = (response: Overridable, body: unknown, statusCode?: number) => {
    const override = response[OVERRIDE];
    if (!override) return reply(response, body, statusCode);
    if (override.contentType) return response.status(override.status).type(override.contentType).send(JSON.stringify(body));
    return reply(response, body, override.status);
  };
}
