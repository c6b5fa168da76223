import { Injectable } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * A replica's way out, in two steps. Once it is asked to stop (`begin`), readiness answers 503 so the
 * load balancer sends no new requests, and answers ask clients not to reuse their connection. Once
 * it stops accepting connections (`stopAccepting`), long-lived answers (decision waits, event
 * streams) end, so that the server can close: their clients reconnect to another replica, which the
 * balancer has been sending everything to since the first step.
 */
@Injectable()
export class Draining {
  private readonly asked = new AbortController();
  private readonly closing = new AbortController();

  get active(): boolean {
    return this.asked.signal.aborted;
  }

  /** Aborted when the replica stops accepting connections. */
  get closingSignal(): AbortSignal {
    return this.closing.signal;
  }

  begin(): void {
    this.asked.abort();
  }

  stopAccepting(): void {
    this.asked.abort();
    this.closing.abort();
  }

  /** Once asked: keep-alive connections are closed after their current answer, so clients reconnect elsewhere. */
  install(app: NestFastifyApplication): void {
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', (_request, reply, done) => {
        if (this.active) reply.raw.setHeader('Connection', 'close');
        done();
      });
  }
}
