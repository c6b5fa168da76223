import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

import helmet from 'helmet';
import { describe, expect, it } from 'vitest';

import { securityHeaders } from './security-headers.js';

function responseTo(path: string): { req: IncomingMessage; res: ServerResponse } {
  const message = new IncomingMessage(new Socket());
  Object.assign(message, { method: 'GET', url: path });
  return { req: message, res: new ServerResponse(message) };
}

/** The headers the service leaves on a response to `path`. */
function served(connectOrigins: string[], path: string): Record<string, unknown> {
  const { res } = responseTo(path);
  securityHeaders(connectOrigins)(path, res);
  return res.getHeaders();
}

/** What helmet itself sets with the service's options. */
function helmets(connectOrigins: string[], path: string): Record<string, unknown> {
  const { req, res } = responseTo(path);
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
  })(req, res, () => undefined);
  return res.getHeaders();
}

describe('security headers', () => {
  it.each([[[]], [['https://idp.example']]])('are exactly helmet’s, replayed (connect origins %j)', (connectOrigins: string[]) => {
    expect(served(connectOrigins, '/docs')).toEqual(helmets(connectOrigins, '/docs'));
    expect(served(connectOrigins, '/health/live')).toEqual(helmets(connectOrigins, '/health/live'));
  });

  it('add Cache-Control: no-store under /api/v1 only', () => {
    expect(served([], '/api/v1/reviews')).toEqual({ ...helmets([], '/api/v1/reviews'), 'cache-control': 'no-store' });
    expect(served([], '/docs')['cache-control']).toBeUndefined();
  });

  it('name the identity provider as a connect origin when one is configured', () => {
    expect(String(served(['https://idp.example'], '/docs')['content-security-policy'])).toContain("connect-src 'self' https://idp.example");
  });
});
