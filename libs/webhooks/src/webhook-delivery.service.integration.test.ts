import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { runMigrations } from 'graphile-worker';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';

import type { AppConfig } from '@app/config';
import { WebhookMetrics } from '@app/observability';

import { cloneTemplate, dropDatabase, testPool } from '../../../test/support/database.js';
import { DeliveryRepository } from './delivery.repository.js';
import { deliveryJobKey } from './delivery-queue.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhookSender } from './webhook-sender.js';

describe('WebhookDeliveryService: batch jobs against PostgreSQL and a local receiver', () => {
  let databaseName: string;
  let pool: pg.Pool;
  let server: Server;
  let delivery: WebhookDeliveryService;
  /** Event ids in the order requests arrived, with the status each was answered. */
  let received: { id: string; reviewId: string; status: number }[];
  /** Reviews whose events the receiver refuses with a 503. */
  let refused: Set<string>;

  beforeAll(async () => {
    databaseName = await cloneTemplate(inject('templateDatabase'));
    pool = testPool(databaseName, 3);
    await runMigrations({ pgPool: pool });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; data: { id: string } };
        const status = refused.has(body.data.id) ? 503 : 200;
        received.push({ id: body.id, reviewId: body.data.id, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const config = {
      webhook: {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
        secret: 'a-webhook-secret-of-at-least-32-characters',
        timeoutMs: 5_000,
        backoffBaseMs: 60_000,
      },
    } as AppConfig;
    const deliveries = new DeliveryRepository(pool);
    delivery = new WebhookDeliveryService(deliveries, new WebhookSender(config), new WebhookMetrics(new Registry()), config);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pool.end();
    await dropDatabase(databaseName);
  });
  beforeEach(() => {
    received = [];
    refused = new Set();
  });

  /** Events of several reviews, interleaved in time as `order` lists them; returns their ids in that order. */
  async function eventsOf(order: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const [index, reviewId] of order.entries()) {
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO webhook_events (type, review_id, occurred_at, payload)
         VALUES ('review.assigned', $1::uuid, now() - interval '1 minute' + $2 * interval '1 millisecond', json_build_object('id', $1::uuid::text))
         RETURNING id::text`,
        [reviewId, index],
      );
      ids.push(rows[0].id);
    }
    return ids;
  }

  async function stateOf(ids: string[]): Promise<{ attempts: number; delivered: boolean }[]> {
    const { rows } = await pool.query<{ id: string; attempts: number; delivered: boolean }>(
      'SELECT id::text, attempts, delivered_at IS NOT NULL AS delivered FROM webhook_events WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return ids.map((id) => {
      const row = rows.find((candidate) => candidate.id === id)!;
      return { attempts: row.attempts, delivered: row.delivered };
    });
  }

  async function reviewJobOf(reviewId: string): Promise<{ dueInMs: number } | undefined> {
    const { rows } = await pool.query<{ dueInMs: number }>(
      `SELECT (extract(epoch FROM run_at - now()) * 1000)::int AS "dueInMs" FROM graphile_worker.jobs WHERE key = $1`,
      [deliveryJobKey(reviewId)],
    );
    return rows[0];
  }

  it('sends each review in order, and a review that fails backs off alone while the others of its job are delivered', async () => {
    const failing = randomUUID();
    const healthy = randomUUID();
    refused.add(failing);
    const [failing1, healthy1, failing2, healthy2] = await eventsOf([failing, healthy, failing, healthy]);

    await delivery.deliverReviews([failing, healthy], new AbortController().signal);

    expect(received.map(({ id, status }) => ({ id, status }))).toEqual([
      { id: failing1, status: 503 },
      { id: healthy1, status: 200 },
      { id: healthy2, status: 200 },
    ]);
    expect(await stateOf([failing1, failing2, healthy1, healthy2])).toEqual([
      { attempts: 1, delivered: false },
      { attempts: 0, delivered: false },
      { attempts: 1, delivered: true },
      { attempts: 1, delivered: true },
    ]);
    // Back-off from 60 s, ± 20 % jitter.
    expect((await reviewJobOf(failing))?.dueInMs).toBeGreaterThan(40_000);

    // A later batch naming the review leaves it to its review job.
    received = [];
    await delivery.deliverReviews([failing, healthy], new AbortController().signal);
    expect(received).toEqual([]);

    // Once the review job is due, batches deliver the review again, in order.
    refused.clear();
    await pool.query(`UPDATE graphile_worker._private_jobs SET run_at = now() - interval '1 second' WHERE key = $1`, [
      deliveryJobKey(failing),
    ]);
    await delivery.deliverReviews([failing], new AbortController().signal);
    expect(received.map(({ id }) => id)).toEqual([failing1, failing2]);
    expect(await stateOf([failing1, failing2])).toEqual([
      { attempts: 2, delivered: true },
      { attempts: 1, delivered: true },
    ]);
  });

  it('stopped before it is done, gives each unfinished review a review job due now and keeps a back-off', async () => {
    const fresh = randomUUID();
    const backingOff = randomUUID();
    const done = randomUUID();
    await eventsOf([fresh, backingOff]);
    await pool.query(
      `SELECT graphile_worker.add_job('webhooks.deliver-review', '{}', job_key => $1, run_at => now() + interval '1 hour')`,
      [deliveryJobKey(backingOff)],
    );
    const stopped = new AbortController();
    stopped.abort();

    await delivery.deliverReviews([fresh, backingOff, done], stopped.signal);

    expect(received).toEqual([]);
    expect((await reviewJobOf(fresh))?.dueInMs).toBeLessThanOrEqual(0);
    expect((await reviewJobOf(backingOff))?.dueInMs).toBeGreaterThan(3_500_000);
    expect(await reviewJobOf(done)).toBeUndefined();
  });
});
