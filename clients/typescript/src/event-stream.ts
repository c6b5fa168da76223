/** One review event as GET /api/v1/events sends it (the webhook body). */
export interface ReviewEventMessage<Review = Record<string, unknown>> {
  id: string;
  type: string;
  occurredAt: string;
  data: Review;
}

export interface EventStreamOptions {
  baseUrl: string;
  /** A bearer token, or a function returning a fresh one for every (re)connection. */
  token: string | (() => string | Promise<string>);
  types?: string[];
  incidentId?: string;
  /** Resume after this event (the last one the caller handled). */
  lastEventId?: string;
  /** Reconnect after a dropped connection, resuming after the last event yielded (default true). */
  reconnect?: boolean;
  /** Pause before reconnecting, in milliseconds (default 1 000). */
  retryDelayMs?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** The stream answered 409 EVENT_ID_EXPIRED: the resume point is gone; start afresh without it. */
export class EventIdExpiredError extends Error {
  constructor(readonly lastEventId: string) {
    super(`Event ${lastEventId} is unknown or past retention`);
  }
}

export class EventStreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`Event stream answered ${status}`);
  }
}

/**
 * Yields the review events of GET /api/v1/events, in stream order. A dropped connection is reopened
 * with Last-Event-ID set to the last event yielded, so the caller sees every event exactly once as long
 * as it handles each one before asking for the next. Ends when `signal` aborts or the server ends the stream
 * while `reconnect` is false.
 */
export async function* streamEvents(options: EventStreamOptions): AsyncGenerator<ReviewEventMessage> {
  const doFetch = options.fetch ?? fetch;
  let lastEventId = options.lastEventId;
  const reconnect = options.reconnect ?? true;
  while (!options.signal?.aborted) {
    try {
      for await (const event of connect(doFetch, options, lastEventId)) {
        lastEventId = event.id;
        yield event;
      }
    } catch (error) {
      if (error instanceof EventIdExpiredError || error instanceof EventStreamError || options.signal?.aborted) throw error;
      if (!reconnect) throw error;
    }
    if (!reconnect) return;
    await pause(options.retryDelayMs ?? 1_000, options.signal);
  }
}

async function* connect(
  doFetch: typeof fetch,
  options: EventStreamOptions,
  lastEventId: string | undefined,
): AsyncGenerator<ReviewEventMessage> {
  const url = new URL('/api/v1/events', options.baseUrl);
  if (options.types?.length) url.searchParams.set('types', options.types.join(','));
  if (options.incidentId) url.searchParams.set('incidentId', options.incidentId);
  const token = typeof options.token === 'function' ? await options.token() : options.token;
  const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const response = await doFetch(url, { headers, signal: options.signal });
  if (!response.ok || !response.body) {
    const body: unknown = await response.json().catch(() => undefined);
    if (response.status === 409 && (body as { code?: string } | undefined)?.code === 'EVENT_ID_EXPIRED' && lastEventId)
      throw new EventIdExpiredError(lastEventId);
    throw new EventStreamError(response.status, body);
  }
  yield* parse(response.body);
}

/** Server-sent events framing: fields up to a blank line; comments (keep-alives) are skipped. */
export async function* parse(body: ReadableStream<Uint8Array>): AsyncGenerator<ReviewEventMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
          .join('\n');
        if (data) yield JSON.parse(data) as ReviewEventMessage;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
