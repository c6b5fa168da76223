import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

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

  /** Keep-alive connections are closed after their current answer, so clients reconnect elsewhere. */
  middleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (_req, res, next) => {
      if (this.active) res.setHeader('Connection', 'close');
      next();
    };
  }
}
