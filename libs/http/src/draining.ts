import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * Whether this replica has been asked to stop. From then on readiness answers 503 (so the load
 * balancer sends no new requests), answers ask clients not to reuse their connection, and
 * long-lived answers (waits, streams) end early by following `signal`.
 */
@Injectable()
export class Draining {
  private readonly controller = new AbortController();

  get active(): boolean {
    return this.controller.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  begin(): void {
    this.controller.abort();
  }

  /** Keep-alive connections are closed after their current answer, so clients reconnect elsewhere. */
  middleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (_req, res, next) => {
      if (this.active) res.setHeader('Connection', 'close');
      next();
    };
  }
}
