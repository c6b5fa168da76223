// Sign-in: the identity provider (authorization code with PKCE) when the service names one, else a
// token handed over in the address fragment (#token=<JWT>, for local use and tests). Tokens live in
// memory and sessionStorage only, so they end with the tab.
import type { UserManager } from 'oidc-client-ts';

const TOKEN_KEY = 'console.token';

type Role = 'admin' | 'engineer' | 'service';

export interface Session {
  token: string;
  sub: string;
  roles: Role[];
  expiresAt: number;
}

interface ConsoleConfig {
  issuer: string | null;
  clientId: string | null;
}

export type SignIn = { session: Session } | { signIn: (() => Promise<void>) | null; problem: string | null };

function decodeClaims(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(
      payload
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(payload.length / 4) * 4, '='),
    );
    const claims: unknown = JSON.parse(json);
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function sessionFor(token: string): Session | null {
  const claims = decodeClaims(token);
  if (!claims || typeof claims.sub !== 'string' || !Array.isArray(claims.roles) || typeof claims.exp !== 'number') return null;
  if (claims.exp * 1000 <= Date.now()) return null;
  return {
    token,
    sub: claims.sub,
    roles: claims.roles.filter((role): role is Role => ['admin', 'engineer', 'service'].includes(role as string)),
    expiresAt: claims.exp * 1000,
  };
}

let manager: UserManager | null = null;

/** Loaded only when the service names an identity provider: most of the console's weight otherwise. */
async function managerFor(config: ConsoleConfig): Promise<UserManager | null> {
  if (!config.issuer || !config.clientId) return null;
  const { UserManager, WebStorageStateStore } = await import('oidc-client-ts');
  const redirect = `${location.origin}/console/`;
  return new UserManager({
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: redirect,
    post_logout_redirect_uri: redirect,
    response_type: 'code',
    scope: 'openid profile',
    userStore: new WebStorageStateStore({ store: sessionStorage }),
    stateStore: new WebStorageStateStore({ store: sessionStorage }),
  });
}

async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json');
  if (!response.ok) throw new Error(`The console's settings could not be loaded (${response.status}).`);
  return (await response.json()) as ConsoleConfig;
}

function fromFragment(): string | null {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  // The token must not stay in the address bar, the history or a bookmark.
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  return decodeURIComponent(match[1]);
}

// Taken before the first render, so that the router never sees the token as a route.
let handedOver = fromFragment();

export async function signIn(): Promise<SignIn> {
  const handed = handedOver;
  handedOver = null;
  if (handed) {
    const session = sessionFor(handed);
    if (!session) return { signIn: null, problem: 'The token in the link is not valid or has expired. Ask for a new link.' };
    sessionStorage.setItem(TOKEN_KEY, handed);
    return { session };
  }
  const stored = sessionStorage.getItem(TOKEN_KEY);
  const storedSession = stored ? sessionFor(stored) : null;
  if (storedSession) return { session: storedSession };
  sessionStorage.removeItem(TOKEN_KEY);

  let config: ConsoleConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    return { signIn: null, problem: error instanceof Error ? error.message : String(error) };
  }
  manager = await managerFor(config);
  if (!manager) return { signIn: null, problem: null };
  const oidc = manager;
  const query = new URLSearchParams(location.search);
  if (query.has('code') && query.has('state')) {
    try {
      const user = await oidc.signinRedirectCallback();
      history.replaceState(null, '', `${location.pathname}#/`);
      const session = sessionFor(user.access_token);
      if (session) {
        sessionStorage.setItem(TOKEN_KEY, user.access_token);
        return { session };
      }
      return {
        signIn: () => oidc.signinRedirect(),
        problem: 'The identity provider gave a token without the claims this service needs (sub, roles, exp).',
      };
    } catch (error) {
      history.replaceState(null, '', `${location.pathname}#/`);
      return { signIn: () => oidc.signinRedirect(), problem: `Sign-in failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  return { signIn: () => oidc.signinRedirect(), problem: null };
}

export async function signOut(): Promise<void> {
  sessionStorage.removeItem(TOKEN_KEY);
  if (manager) await manager.removeUser();
}
