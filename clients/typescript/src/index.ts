import createFetchClient, { type Client } from 'openapi-fetch';

import type { components, paths } from './schema.js';

export * from './event-stream.js';
export type { components, paths } from './schema.js';

export type Decision = components['schemas']['DecisionView'];
export type Review = components['schemas']['ReviewView'];
export type Incident = components['schemas']['IncidentView'];
export type ReviewClient = Client<paths>;

export interface ClientOptions {
  baseUrl: string;
  /** A bearer token, or a function returning a fresh one for every request. */
  token: string | (() => string | Promise<string>);
  fetch?: typeof fetch;
}

/** A typed client of the whole API (openapi-fetch over the generated schema), sending the bearer token on every call. */
export function createClient(options: ClientOptions): ReviewClient {
  const client = createFetchClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
  client.use({
    async onRequest({ request }) {
      const token = typeof options.token === 'function' ? await options.token() : options.token;
      request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(`API answered ${status}${(problem as { code?: string } | undefined)?.code ? ` ${(problem as { code: string }).code}` : ''}`);
  }
}

export interface WaitOptions {
  /** Give up after this many seconds and return the decision as it stands (default: wait for ever). */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** The longest wait the service holds one request (the contract's waitSeconds maximum). */
const MAX_WAIT_SECONDS = 60;

/**
 * Waits until the incident is decided (or the timeout passes, or `signal` aborts) with long-polls of
 * GET /incidents/{id}/decision, each held by the service up to 60 s, and returns the last view.
 */
export async function waitForDecision(client: ReviewClient, incidentId: string, options: WaitOptions = {}): Promise<Decision> {
  const deadline = options.timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutSeconds * 1000;
  for (;;) {
    const waitSeconds = Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.ceil((deadline - Date.now()) / 1000)));
    const { data, error, response } = await client.GET('/api/v1/incidents/{id}/decision', {
      params: { path: { id: incidentId }, query: { waitSeconds } },
      signal: options.signal,
    });
    if (!data) throw new ApiError(response.status, error);
    if (data.state === 'decided' || Date.now() >= deadline || options.signal?.aborted) return data;
  }
}
