import { DomainError } from '@app/common';

/** The caller used up its assignment calls of the current window. */
export class RateLimitedError extends DomainError {
  constructor(limit: number, windowSeconds: number, retryAfterSeconds: number) {
    super('RATE_LIMITED', `At most ${limit} assignment calls per ${windowSeconds} s; retry in ${retryAfterSeconds} s`);
  }
}
