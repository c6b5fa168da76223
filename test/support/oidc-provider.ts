import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import jwt from 'jsonwebtoken';

import { TEST_JWT_SECRET } from './test-app.js';

export interface OidcProvider {
  issuer: string;
  clientId: string;
  /** Token requests whose code_verifier matched the code_challenge of the authorization request. */
  verifiedExchanges: number;
  close(): Promise<void>;
}

/**
 * A minimal identity provider for the console's sign-in: discovery, an authorization endpoint that
 * signs the person in at once, and a token endpoint that insists on PKCE (S256) and issues an
 * access token the test service accepts.
 */
export async function startOidcProvider(claims: { sub: string; roles: string[] }, clientId = 'review-console'): Promise<OidcProvider> {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const provider: OidcProvider = { issuer: '', clientId, verifiedExchanges: 0, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', provider.issuer);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', '*');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = url.pathname.slice(new URL(provider.issuer).pathname.length);
    if (path === '/.well-known/openid-configuration') {
      res.setHeader('Content-Type', 'application/json');
      return void res.end(
        JSON.stringify({
          issuer: provider.issuer,
          authorization_endpoint: `${provider.issuer}/authorize`,
          token_endpoint: `${provider.issuer}/token`,
          jwks_uri: `${provider.issuer}/jwks`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        }),
      );
    }
    if (path === '/authorize') {
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      if (
        url.searchParams.get('client_id') !== clientId ||
        url.searchParams.get('code_challenge_method') !== 'S256' ||
        !url.searchParams.get('code_challenge')
      ) {
        return void res.writeHead(400).end('PKCE with S256 and the known client id required');
      }
      const code = randomUUID();
      codes.set(code, { challenge: url.searchParams.get('code_challenge')!, redirectUri });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return void res.writeHead(302, { Location: back.href }).end();
    }
    if (path === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (
          !grant ||
          grant.redirectUri !== form.get('redirect_uri') ||
          createHash('sha256').update(verifier).digest('base64url') !== grant.challenge
        ) {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          return void res.end(JSON.stringify({ error: 'invalid_grant' }));
        }
        provider.verifiedExchanges += 1;
        const accessToken = jwt.sign(claims, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' });
        const idToken = jwt.sign({ sub: claims.sub, aud: clientId, iss: provider.issuer }, TEST_JWT_SECRET, {
          algorithm: 'HS256',
          expiresIn: '1h',
        });
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ access_token: accessToken, id_token: idToken, token_type: 'Bearer', expires_in: 3600 }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  provider.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/ops`;
  provider.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return provider;
}
