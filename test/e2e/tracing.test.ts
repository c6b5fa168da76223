import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { BUILT_MAIN, exitOf, spawnBuilt } from '../support/built-service.js';
import { cloneTemplate, databaseUrl, dropDatabase } from '../support/database.js';
import { call } from '../support/http-client.js';
import { adminToken, TEST_JWT_SECRET } from '../support/test-app.js';

// The built service with OTEL_EXPORTER_OTLP_ENDPOINT set, exporting to an OTLP/HTTP receiver run by
// this test (JSON encoding, which OTEL_EXPORTER_OTLP_PROTOCOL=http/json selects): the spans are
// checked as Jaeger or Tempo would show them, by trace id and parent span id.

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  serviceName: string;
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: { spans?: (Omit<ExportedSpan, 'attributes' | 'serviceName'> & { attributes?: { key: string; value: OtlpValue }[] })[] }[];
  }[];
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

function attributes(list: { key: string; value: OtlpValue }[] = []): ExportedSpan['attributes'] {
  return Object.fromEntries(
    list.map(({ key, value }) => [key, value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue))]),
  );
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function until<T>(what: string, find: () => T | undefined, withinMs = 20_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set, the built service', () => {
  const spans: ExportedSpan[] = [];
  const deliveries: { headers: IncomingHttpHeaders; body: { type: string; data: { id: string } } }[] = [];
  let collector: Server;
  let receiver: Server;
  let child: ReturnType<typeof spawnBuilt>;
  let databaseName: string;
  let baseUrl: string;

  beforeAll(async () => {
    databaseName = await cloneTemplate(inject('templateDatabase'));
    collector = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.method === 'POST') {
          const request = JSON.parse(raw) as ExportRequest;
          for (const resourceSpans of request.resourceSpans ?? []) {
            const serviceName = String(attributes(resourceSpans.resource?.attributes)['service.name']);
            for (const scope of resourceSpans.scopeSpans ?? []) {
              for (const span of scope.spans ?? []) spans.push({ ...span, attributes: attributes(span.attributes), serviceName });
            }
          }
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body: JSON.parse(raw) as (typeof deliveries)[number]['body'] });
        res.writeHead(204).end();
      });
    });
    const [collectorPort, receiverPort] = await Promise.all([listen(collector), listen(receiver)]);
    child = spawnBuilt([BUILT_MAIN], {
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl(databaseName),
      JWT_SECRET: TEST_JWT_SECRET,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ESCALATION_INTERVAL_SECONDS: '1',
      WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`,
      WEBHOOK_SECRET: 'a-webhook-secret-of-at-least-32-characters',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const port = await until('the service to listen', () => /listening on 127\.0\.0\.1:(\d+)/.exec(child.output())?.[1], 60_000);
    baseUrl = `http://127.0.0.1:${port}`;
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exitOf(child, 30_000);
    }
    await new Promise((resolve) => collector?.close(resolve));
    await new Promise((resolve) => receiver?.close(resolve));
    if (databaseName) await dropDatabase(databaseName);
  });

  /** The span's ancestors in its trace, nearest first, as far as they were exported. */
  function ancestors(span: ExportedSpan): ExportedSpan[] {
    const chain: ExportedSpan[] = [];
    let current: ExportedSpan | undefined = span;
    while (current?.parentSpanId) {
      const parentId: string = current.parentSpanId;
      current = spans.find((candidate) => candidate.traceId === span.traceId && candidate.spanId === parentId);
      if (current) chain.push(current);
    }
    return chain;
  }

  describe('a request that carries a traceparent', () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    let reviewId: string;
    let requestSpan: ExportedSpan;

    beforeAll(async () => {
      const admin = adminToken();
      const engineer = await call(baseUrl, 'POST', '/api/v1/engineers', admin, {
        name: 'Grace Hopper',
        email: `grace-${randomBytes(4).toString('hex')}@example.com`,
      });
      const incident = await call(baseUrl, 'POST', '/api/v1/incidents', admin, {
        title: 'Disk full',
        severity: 'high',
        aiProposal: 'Grow the volume',
      });
      expect([engineer.status, incident.status]).toEqual([201, 201]);
      const review = await call(
        baseUrl,
        'POST',
        '/api/v1/reviews',
        admin,
        { incidentId: incident.body.id, engineerId: engineer.body.id },
        { traceparent: `00-${traceId}-${callerSpanId}-01` },
      );
      expect(review.status, JSON.stringify(review.body)).toBe(201);
      reviewId = review.body.id;
      requestSpan = await until('the request span', () => spans.find((span) => span.traceId === traceId && span.kind === SPAN_KIND_SERVER));
    });

    it('is one server span in the caller trace, a child of the caller span, named after the route template', () => {
      expect(requestSpan).toMatchObject({
        name: 'POST /api/v1/reviews',
        parentSpanId: callerSpanId,
        serviceName: 'engineer-review-service',
      });
      expect(requestSpan.attributes).toMatchObject({
        'http.route': '/api/v1/reviews',
        'http.request.method': 'POST',
        'http.response.status_code': 201,
      });
    });

    it('has the Nest controller and handler that served it under it', async () => {
      const handler = await until('the controller span', () =>
        spans.find((span) => span.traceId === traceId && span.name === 'ReviewsController.assign'),
      );
      expect(handler.parentSpanId).toBe(requestSpan.spanId);
      expect(handler.attributes).toMatchObject({
        'nestjs.controller': 'ReviewsController',
        'nestjs.callback': 'assign',
        'http.route': '/api/v1/reviews',
      });
    });

    it('has its PostgreSQL queries under it', async () => {
      const queries = await until('the PostgreSQL spans', () => {
        const found = spans.filter((span) => span.traceId === traceId && span.attributes['db.system.name'] === 'postgresql');
        return found.length > 0 ? found : undefined;
      });
      for (const query of queries) expect(ancestors(query).map((span) => span.spanId)).toContain(requestSpan.spanId);
      expect(queries.some((query) => String(query.attributes['db.query.text']).includes('webhook_events'))).toBe(true);
    });

    it('is continued by the delivery of the webhook event it caused, which sends the trace on', async () => {
      const delivery = await until('the review.assigned delivery', () =>
        deliveries.find((d) => d.body.type === 'review.assigned' && d.body.data.id === reviewId),
      );
      const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(delivery.headers.traceparent));
      expect(sent?.[1], String(delivery.headers.traceparent)).toBe(traceId);
      const deliverySpan = await until('the delivery span', () =>
        spans.find((span) => span.traceId === traceId && span.spanId === sent?.[2]),
      );
      expect(deliverySpan).toMatchObject({ name: 'webhook review.assigned', kind: SPAN_KIND_CLIENT });
      expect(deliverySpan.attributes).toMatchObject({ 'review.id': reviewId, 'webhook.event_type': 'review.assigned' });
      expect(ancestors(deliverySpan).map((span) => span.spanId)).toContain(requestSpan.spanId);
    });

    it('puts its trace id in the log lines written for it', () => {
      const lines = child
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; route?: string; traceId?: string });
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'request completed', route: '/api/v1/reviews', traceId }));
    });
  });

  it('makes a span of every scheduler pass, a trace of its own', async () => {
    const pass = await until('a scheduler pass span', () => spans.find((span) => span.name === 'sla escalation pass'));
    expect(pass.parentSpanId ?? '').toBe('');
    expect(pass.attributes).toMatchObject({ 'sla.escalated': 0, 'sla.reassigned': 0, 'sla.decision_overdue': 0 });
  });

  it('does not trace probes and scrapes, nor the database queries they make', async () => {
    expect((await fetch(`${baseUrl}/health/live`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(spans.filter((span) => String(span.attributes['url.path'] ?? '').startsWith('/health'))).toEqual([]);
    expect(spans.filter((span) => !span.parentSpanId && span.name.startsWith('prisma:')).map((span) => span.name)).toEqual([]);
  });
});

describe('on SIGTERM, the built service with tracing on', () => {
  it('sends the spans still waiting for their batch before it exits', async () => {
    const databaseName = await cloneTemplate(inject('templateDatabase'));
    const received: string[] = [];
    const collector = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        received.push(raw);
        res.writeHead(200).end('{}');
      });
    });
    try {
      const collectorPort = await listen(collector);
      const child = spawnBuilt([BUILT_MAIN], {
        DATABASE_URL: databaseUrl(databaseName),
        JWT_SECRET: TEST_JWT_SECRET,
        PORT: '0',
        HOST: '127.0.0.1',
        SCHEDULER_ENABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // Far beyond the test: only the flush at shutdown can send the span.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      });
      const port = await until('the service to listen', () => /listening on 127\.0\.0\.1:(\d+)/.exec(child.output())?.[1], 60_000);
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/engineers`)).status).toBe(401);
      expect(received).toEqual([]);
      child.kill('SIGTERM');
      await exitOf(child, 30_000);
      expect(received.join('\n')).toContain('"name":"GET /api/v1/engineers"');
    } finally {
      await new Promise((resolve) => collector.close(resolve));
      await dropDatabase(databaseName);
    }
  }, 90_000);
});

describe('the OpenTelemetry SDK', () => {
  // Reports, as the process exits, whether any module of the SDK was loaded (it is CommonJS).
  const probe = `data:text/javascript,${encodeURIComponent(
    "import { createRequire } from 'node:module'; const cache = createRequire(process.cwd() + '/').cache; " +
      "process.on('exit', () => console.log('SDK loaded: ' + Object.keys(cache).some((file) => file.includes('@opentelemetry/sdk-node'))));",
  )}`;

  it.each([
    ['unset', 'false', {}],
    ['set', 'true', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }],
  ])('with OTEL_EXPORTER_OTLP_ENDPOINT %s, loads the OpenTelemetry SDK: %s', async (_label, loaded, env) => {
    // A configuration error ends the process right after main.ts has decided about tracing.
    const result = await exitOf(spawnBuilt(['--import', probe, BUILT_MAIN], env), 30_000);
    expect(result.output).toMatch(/DATABASE_URL is required/);
    expect(result.output).toContain(`SDK loaded: ${loaded}`);
  });
});
