import { createHash, randomUUID } from 'node:crypto';

import { type CallHandler, type ExecutionContext, Inject, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, type Observable, switchMap } from 'rxjs';

import { ServiceUnavailableError, ValidationFailedError } from '@app/common';
import { APP_CONFIG, type AppConfig } from '@app/config';

import { canonicalJson } from './canonical-json.js';
import { IdempotencyKeyReusedError } from './http.errors.js';
import { type IdempotencyClaim, IdempotencyRepository, type IdempotencyScope } from './idempotency.repository.js';
import { type ProblemDetails, toProblem } from './problem.js';
import { pathOf } from './request-context.js';
import { overrideResponse, responseStatusOverride } from './response-override.js';

const KEY_PATTERN = /^[\x20-\x7e]{1,200}$/;
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const WAIT_TIMEOUT_MS = 30_000;
/** A waiter polls after 25 ms, then doubling up to 1 s: at most about two queries per second each. */
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 1_000;
/**
 * By the input limits no answer reaches this (the largest, a decided review with 45 000 characters
 * of text, is under 300 KB even with every character escaped); a larger one is not stored.
 */
export const MAX_STORED_BODY_BYTES = 512 * 1024;

/**
 * Idempotency-Key on every POST under /api/v1. Runs after the guards (401, 403 and 429 are never
 * stored) and around validation and the handler. The first request claims the key with a committed
 * row, a lease it renews every third of IDEMPOTENCY_LEASE_SECONDS while it runs; identical concurrent
 * requests wait for its answer (backing off) and replay it, or take the key over once the lease has
 * run out unrenewed (the claimant's replica died). Answers below 500 are stored, a 5xx releases the
 * key so that a retry acts afresh.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);
  private readonly leaseSeconds: number;

  constructor(
    private readonly records: IdempotencyRepository,
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.leaseSeconds = config.idempotencyLeaseSeconds;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const res = context.switchToHttp().getResponse<FastifyReply>();
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || key === undefined || !req.caller) return next.handle();
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new ValidationFailedError('Idempotency-Key must be 1–200 printable ASCII characters', [
        { field: 'Idempotency-Key', message: 'must be 1–200 printable ASCII characters' },
      ]);
    }
    const scope: IdempotencyScope = { subject: req.caller.sub, method: req.method, path: pathOf(req), key };
    const routeStatus = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
    const requestHash = createHash('sha256')
      .update(canonicalJson(req.body ?? null))
      .digest('hex');
    const claim: IdempotencyClaim = { owner: randomUUID(), leaseSeconds: this.leaseSeconds };
    return from(this.acquire(scope, requestHash, claim, res)).pipe(
      switchMap((replay) =>
        replay ? from(Promise.resolve(this.replay(req, res, replay))) : from(this.execute(scope, claim, req, res, next, routeStatus)),
      ),
    );
  }

  /** Resolves to a stored answer to replay, or undefined once this request owns the key. */
  private async acquire(
    scope: IdempotencyScope,
    requestHash: string,
    claim: IdempotencyClaim,
    res: FastifyReply,
  ): Promise<{ status: number; body: unknown } | undefined> {
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
      if (await this.records.claim(scope, requestHash, claim, IDEMPOTENCY_TTL_SECONDS)) return undefined;
      const stored = await this.records.find(scope);
      if (!stored) continue;
      if (stored.requestHash !== requestHash) {
        throw new IdempotencyKeyReusedError();
      }
      if (stored.statusCode !== null) return { status: stored.statusCode, body: stored.responseBody };
      if (Date.now() + pause > deadline) {
        res.header('Retry-After', String(Math.max(1, Math.ceil(stored.leaseRemainingMs / 1000))));
        throw new ServiceUnavailableError('A request with this Idempotency-Key is still in progress; retry later');
      }
      await new Promise((resolve) => setTimeout(resolve, pause * (0.8 + Math.random() * 0.4)));
    }
  }

  private replay(req: FastifyRequest, res: FastifyReply, stored: { status: number; body: unknown }): unknown {
    res.header('Idempotent-Replayed', 'true');
    const problem = stored.status >= 400 && typeof stored.body === 'object' && stored.body !== null;
    const body = problem ? { ...(stored.body as ProblemDetails), requestId: req.id } : stored.body;
    overrideResponse(res, stored.status, problem ? 'application/problem+json' : undefined);
    return body;
  }

  private async execute(
    scope: IdempotencyScope,
    claim: IdempotencyClaim,
    req: FastifyRequest,
    res: FastifyReply,
    next: CallHandler,
    routeStatus: number,
  ): Promise<unknown> {
    const lease = { running: true };
    const renewal = setInterval(() => void this.renew(scope, claim, lease), (claim.leaseSeconds * 1000) / 3);
    const handled = await new Promise<{ result: unknown } | { error: unknown }>((resolve) => {
      let last: unknown;
      next
        .handle()
        .subscribe({ next: (value) => (last = value), error: (error) => resolve({ error }), complete: () => resolve({ result: last }) });
    });
    lease.running = false;
    clearInterval(renewal);
    if ('result' in handled) {
      await this.store(scope, claim, responseStatusOverride(res) ?? routeStatus, handled.result);
      return handled.result;
    }
    const { problem } = toProblem(handled.error, { path: pathOf(req), requestId: req.id });
    if (problem.status < 500) await this.store(scope, claim, problem.status, problem);
    else await this.records.release(scope, claim).catch(() => undefined);
    throw handled.error;
  }

  /** A renewal that finds the claim gone while the request still runs means another request took the key over. */
  private async renew(scope: IdempotencyScope, claim: IdempotencyClaim, lease: { running: boolean }): Promise<void> {
    try {
      const renewed = await this.records.renew(scope, claim);
      if (!renewed && lease.running)
        this.logger.warn({ key: scope.key, path: scope.path }, 'Idempotency claim was taken over while its request ran');
    } catch (error) {
      this.logger.warn({ err: error, key: scope.key, path: scope.path }, 'Idempotency lease renewal failed');
    }
  }

  /** Stores the answer, or releases the key when the answer is too large to keep. */
  private async store(scope: IdempotencyScope, claim: IdempotencyClaim, status: number, body: unknown): Promise<void> {
    const json = JSON.stringify(body ?? null);
    if (Buffer.byteLength(json) <= MAX_STORED_BODY_BYTES) return this.records.complete(scope, claim, status, json);
    this.logger.warn(
      { key: scope.key, path: scope.path, bytes: Buffer.byteLength(json) },
      'Answer too large to store for its Idempotency-Key: key released',
    );
    await this.records.release(scope, claim);
  }
}
