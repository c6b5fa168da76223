import type { IncomingMessage } from 'node:http';

import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * Everything here goes through @opentelemetry/api alone: with tracing off (no OTLP endpoint, the
 * SDK never loaded) its calls are no-ops and no span is ever recording.
 */
const tracer = trace.getTracer('engineer-review-service');

/** Read by the HTTP instrumentation (apps/api/src/tracing.ts) to name the request's span after its route. */
export const ROUTE_OF = Symbol.for('engineer-review-service.route-of');

export function exposeRouteForTracing(req: IncomingMessage, routeOf: () => string): void {
  (req as IncomingMessage & { [ROUTE_OF]?: () => string })[ROUTE_OF] = routeOf;
}

/** The trace id of the active span, for log lines; undefined when nothing is traced. */
export function activeTraceId(): string | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span.spanContext().traceId : undefined;
}

/** The W3C `traceparent` of the active span, to be stored with work done later on its behalf. */
export function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * Runs `work` in a new span (an internal one unless `kind` says otherwise), parented to `traceparent`
 * when given, else to the active span; the span ends with the work and records its failure.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; traceparent?: string | null },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.traceparent ? propagation.extract(context.active(), { traceparent: options.traceparent }) : context.active();
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Sends the spans still buffered when the application shuts down. */
@Injectable()
export class TraceFlusher implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    // With the SDK, the global provider delegates to the SDK's, which can flush; without, it cannot.
    const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
    await provider
      .getDelegate?.()
      .forceFlush?.()
      .catch(() => undefined);
  }
}
