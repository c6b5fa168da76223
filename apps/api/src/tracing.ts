import type { IncomingMessage, RequestOptions } from 'node:http';
import { register } from 'node:module';

import { type Context, type Span, trace } from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/sdk-trace';
import { createAddHookMessageChannel } from 'import-in-the-middle';

const DEFAULT_SERVICE_NAME = 'engineer-review-service';
/**
 * The request observer (libs/observability) puts a function giving the route template on each
 * request under this registered symbol; importing it from there would load the application first.
 */
const ROUTE_OF = Symbol.for('engineer-review-service.route-of');

/** Probes and scrapes arrive every few seconds from every load balancer and Prometheus: not traced. */
function isProbe(request: IncomingMessage): boolean {
  const path = request.url?.split('?')[0] ?? '';
  return path.startsWith('/health/') || path === '/metrics';
}

function isWebhookDelivery(request: RequestOptions): boolean {
  return Object.keys(request.headers ?? {}).some((name) => name.toLowerCase() === 'x-webhook-id');
}

/**
 * The sampler that OTEL_TRACES_SAMPLER chooses (parent-based, always on, by default), except that a
 * Prisma operation outside any span is not traced: readiness probes, metric scrapes and the audit
 * sealer query the database every few seconds, each of which would otherwise be a trace of its own.
 */
async function sampler(): Promise<Sampler> {
  const [{ AlwaysOnSampler, ParentBasedSampler, SamplingDecision }, { createSamplerFromEnv }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    // Not exported by the package's index; the version is pinned, and test/e2e/tracing.test.ts runs it.
    import('@opentelemetry/sdk-node/build/src/create-from-env.js'),
  ]);
  const configured = createSamplerFromEnv() ?? new ParentBasedSampler({ root: new AlwaysOnSampler() });
  return {
    shouldSample: (context: Context, traceId, name, ...rest) =>
      name.startsWith('prisma:') && !trace.getSpan(context)
        ? { decision: SamplingDecision.NOT_RECORD }
        : configured.shouldSample(context, traceId, name, ...rest),
    toString: () => `UntracedBackgroundPrisma{${configured.toString()}}`,
  };
}

/**
 * Starts the OpenTelemetry SDK: OTLP export of traces configured by the standard OTEL_* variables
 * (endpoint, protocol, headers, sampler, resource attributes), W3C trace context, and spans for
 * incoming HTTP requests, their Nest controller and handler, PostgreSQL queries and Prisma
 * operations. Metrics stay on /metrics, so the SDK exports no metrics and no logs.
 */
export async function startTracing(): Promise<void> {
  // The ESM loader hook wraps only the modules that an instrumentation asks for (pg, http), and
  // must be registered before they are imported; the instrumentations require-hook CommonJS too.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const [{ NodeSDK }, { HttpInstrumentation }, { NestInstrumentation }, { PgInstrumentation }, { PrismaInstrumentation }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-nestjs-core'),
      import('@opentelemetry/instrumentation-pg'),
      import('@prisma/instrumentation'),
    ]);

  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME,
    sampler: await sampler(),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: isProbe,
        // A webhook delivery is a client span of the sender's own (named after the event, with its ids),
        // and the traceparent it sends is that span's: a generic POST span under it would replace it.
        ignoreOutgoingRequestHook: isWebhookDelivery,
        // Names the server span after the route template once routing is done (the raw path would
        // make every review its own operation).
        applyCustomAttributesOnSpan: (span: Span, request) => {
          const route = (request as IncomingMessage & { [ROUTE_OF]?: () => string })[ROUTE_OF]?.();
          if (!route) return;
          span.setAttribute('http.route', route);
          span.updateName(`${(request as IncomingMessage).method ?? 'HTTP'} ${route}`);
        },
      }),
      // The controller and handler that served the request (`ReviewsController.assign`), under its span.
      new NestInstrumentation(),
      // Only queries made on behalf of something traced: the webhook worker polls the database every
      // second, and each poll would otherwise be a trace of its own.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      // A query shows as the Prisma operation (model and method) with the pg span of its SQL under
      // it; Prisma's own span of the same query, and of serialising and connecting, add nothing.
      new PrismaInstrumentation({ ignoreSpanTypes: ['prisma:client:serialize', 'prisma:client:connect', 'prisma:client:db_query'] }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
}
