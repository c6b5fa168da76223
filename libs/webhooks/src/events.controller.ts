import { Controller, Get, Headers, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { type Actor, Allow, CurrentActor, Permission } from '@app/auth';
import { drainedOrClosed, Problems } from '@app/http';

import { EventStreamQueryDto } from './dto/events.dto.js';
import type { StreamedEvent } from './event-log.repository.js';
import { EventStreamService } from './event-stream.service.js';

const KEEP_ALIVE_MS = 15_000;

@ApiTags('events')
@Controller('events')
export class EventsController {
  private readonly logger = new Logger(EventsController.name);

  constructor(private readonly streams: EventStreamService) {}

  @Get()
  @Allow(Permission.EventsReadAll, Permission.EventsReadOwn)
  @ApiOperation({
    operationId: 'streamEvents',
    summary: 'Server-sent stream of review events',
    description:
      'Each event is sent as `id: <event id>`, `event: <type>`, `data: { "id", "type", "occurredAt", "data": Review }` (the webhook body). ' +
      'With `Last-Event-ID` (or `after`) the retained events after that one are replayed first, then new events follow within a second of ' +
      "their commit, from any replica. Across reconnects no event is skipped or sent twice, and one review's events keep their order. " +
      'A `: keep-alive` comment goes out every 15 s. Engineers receive only events of their own reviews.',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiOkResponse({ description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @Problems({ 409: ['EVENT_ID_EXPIRED'] })
  async stream(
    @CurrentActor() actor: Actor,
    @Query() query: EventStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const feed = await this.streams.open(actor, {
      types: query.types,
      incidentId: query.incidentId,
      after: lastEventId?.trim() || query.after,
    });
    // Streamed on the raw response: Fastify leaves a hijacked reply to the handler.
    const res = reply.hijack().raw;
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    try {
      for await (const events of feed.batches(gone.signal)) {
        if (!res.write(events.map(frame).join(''))) await drainedOrClosed(res);
        if (res.destroyed) break;
      }
      if (!res.destroyed) res.end();
    } catch (error) {
      this.logger.error({ err: error, requestId: req.id }, 'Event stream failed');
      res.destroy();
    } finally {
      clearInterval(keepAlive);
    }
  }
}

function frame(event: StreamedEvent): string {
  const data = JSON.stringify({ id: event.id, type: event.type, occurredAt: event.occurredAt.toISOString(), data: event.payload });
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${data}\n\n`;
}
