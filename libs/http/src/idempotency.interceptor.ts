import { createHash } from 'node:crypto';

import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { from, type Observable, switchMap } from 'rxjs';

import { canonicalJson } from './canonical-json.js';
import { DomainError } from './domain-error.js';
import { IdempotencyRepository, type IdempotencyScope } from './idempotency.repository.js';
import { type ProblemDetails, toProblem } from './problem.js';
import { overrideResponse, responseStatusOverride } from './response-override.js';

const KEY_PATTERN = /^[\x20-\x7e]{1,200}$/;
const TTL_SECONDS = 24 * 3600;
const WAIT_TIMEOUT_MS = 30_000;
const POLL_MS = 25;

/**
 * Idempotency-Key on every POST under /api/v1. Runs after the guards (401, 403 and 429 are never
 * stored) and around validation and the handler. The first request claims the key with a committed
 * row; identical concurrent requests wait for its answer and replay it; answers below 500 are
 * stored, a 5xx releases the key so that a retry acts afresh.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly records: IdempotencyRepository,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const key = req.header('idempotency-key');
    if (req.method !== 'POST' || key === undefined || !req.caller) return next.handle();
    if (!KEY_PATTERN.test(key)) {
      throw new DomainError(400, 'VALIDATION_FAILED', 'Idempotency-Key must be 1–200 printable ASCII characters', [
        { field: 'Idempotency-Key', message: 'must be 1–200 printable ASCII characters' },
      ]);
    }
    const scope: IdempotencyScope = { subject: req.caller.sub, method: req.method, path: req.path, key };
    const routeStatus = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
    const requestHash = createHash('sha256').update(canonicalJson(req.body ?? null)).digest('hex');
    return from(this.acquire(scope, requestHash)).pipe(
      switchMap((replay) => (replay ? from(Promise.resolve(this.replay(req, res, replay))) : from(this.execute(scope, req, res, next, routeStatus)))),
    );
  }

  /** Resolves to a stored answer to replay, or undefined once this request owns the key. */
  private async acquire(scope: IdempotencyScope, requestHash: string): Promise<{ status: number; body: unknown } | undefined> {
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    for (;;) {
      if (await this.records.claim(scope, requestHash)) return undefined;
      const stored = await this.records.find(scope, TTL_SECONDS);
      if (!stored) continue;
      if (stored.expired) {
        await this.records.release(scope);
        continue;
      }
      if (stored.requestHash !== requestHash) {
        throw new DomainError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body');
      }
      if (stored.statusCode !== null) return { status: stored.statusCode, body: stored.responseBody };
      if (Date.now() > deadline) {
        throw new DomainError(503, 'SERVICE_UNAVAILABLE', 'A request with this Idempotency-Key is still in progress; retry later');
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private replay(req: Request, res: Response, stored: { status: number; body: unknown }): unknown {
    res.setHeader('Idempotent-Replayed', 'true');
    const problem = stored.status >= 400 && typeof stored.body === 'object' && stored.body !== null;
    const body = problem ? { ...(stored.body as ProblemDetails), requestId: req.requestId ?? '' } : stored.body;
    overrideResponse(res, stored.status, problem ? 'application/problem+json' : undefined);
    return body;
  }

  private async execute(scope: IdempotencyScope, req: Request, res: Response, next: CallHandler, routeStatus: number): Promise<unknown> {
    let result: unknown;
    try {
      result = await new Promise((resolve, reject) => {
        let last: unknown;
        next.handle().subscribe({ next: (value) => (last = value), error: reject, complete: () => resolve(last) });
      });
    } catch (error) {
      const { problem } = toProblem(error, { path: req.originalUrl.split('?')[0] ?? req.url, requestId: req.requestId ?? '' });
      if (problem.status < 500) await this.records.complete(scope, problem.status, problem);
      else await this.records.release(scope).catch(() => undefined);
      throw error;
    }
    await this.records.complete(scope, responseStatusOverride(res) ?? routeStatus, result);
    return result;
  }
}
