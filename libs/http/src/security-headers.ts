import type { IncomingMessage, ServerResponse } from 'node:http';

import helmet from 'helmet';

import { API_PREFIX } from './api-prefix.js';

type HeaderChange = { set: [string, string] } | { remove: string };

/**
 * What helmet does to a response, recorded once: its directives here are constants, so every
 * response gets the same headers, and replaying the recorded changes costs a loop of setHeader
 * calls instead of helmet's chain of a dozen middleware functions per request.
 */
function recordHeaderChanges(middleware: ReturnType<typeof helmet>): HeaderChange[] {
  const changes: HeaderChange[] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      changes.push({ set: [name, String(value)] });
      return recorder;
    },
    removeHeader(name: string) {
      changes.push({ remove: name });
    },
  };
  let finished = false;
  middleware({ method: 'GET', url: '/', headers: {} } as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error instanceof Error ? error : new Error(String(error));
    finished = true;
  });
  if (!finished) throw new Error('helmet did not set its headers synchronously');
  return changes;
}

/**
 * Headers on every response, errors included: no MIME sniffing, no referrer, no framing, and a
 * Content-Security-Policy that lets the pages this service serves (Swagger UI at /docs) load only
 * their own scripts and styles. Upgrading insecure requests is left to whoever terminates TLS: the
 * service is also reached over plain HTTP on a loopback address. API answers are never cached.
 * `connectOrigins` are the other origins the console's scripts may call (its identity provider).
 * Returns what sets them on the response to a request for `url`.
 */
export function securityHeaders(connectOrigins: string[] = []): (url: string, res: ServerResponse) => void {
  const changes = recordHeaderChanges(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          upgradeInsecureRequests: null,
          frameAncestors: ["'none'"],
          ...(connectOrigins.length > 0 ? { connectSrc: ["'self'", ...connectOrigins] } : {}),
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  const apiPath = `/${API_PREFIX}/`;
  return (url, res) => {
    for (const change of changes) {
      if ('set' in change) res.setHeader(change.set[0], change.set[1]);
      else res.removeHeader(change.remove);
    }
    if (url.startsWith(apiPath)) res.setHeader('Cache-Control', 'no-store');
  };
}
