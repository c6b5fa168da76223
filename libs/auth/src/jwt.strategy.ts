import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { ExtractJwt, type SecretOrKeyProvider, Strategy } from 'passport-jwt';

import { UnauthenticatedError } from '@app/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type Caller } from '@app/http';

import { isRole } from './permissions.js';

export const CLOCK_TOLERANCE_SECONDS = 30;
/** An unknown `kid` fetches the identity provider's keys again, at most this often. */
export const JWKS_REFETCH_COOLDOWN_MS = 30_000;
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
const JWKS_FETCH_TIMEOUT_MS = 5_000;

/**
 * A KeyObject built once: given a string, jsonwebtoken first tries createPublicKey() on every
 * verification and, for an HMAC secret, catches the failure before falling back (4 % of a
 * replica's CPU under load in the benchmark's profile).
 */
function staticKey(config: AppConfig): KeyObject {
  return config.jwt.publicKey ? createPublicKey(config.jwt.publicKey) : createSecretKey(Buffer.from(config.jwt.secret ?? '', 'utf8'));
}

/**
 * The identity provider's published keys, chosen by the token's `kid` (jose caches them and fetches
 * again on an unknown `kid` at most once per cooldown). Any failure, an unreachable JWKS included,
 * fails the authentication: a 401, never a 500.
 */
function jwksKeyProvider(jwksUrl: string): SecretOrKeyProvider<FastifyRequest> {
  const keySet = createRemoteJWKSet(new URL(jwksUrl), {
    cooldownDuration: JWKS_REFETCH_COOLDOWN_MS,
    cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
  });
  // jsonwebtoken.verify takes a KeyObject (the provider's typings say string | Buffer).
  return (_request, rawJwtToken: string, done) => {
    Promise.resolve()
      .then(() => keySet(decodeProtectedHeader(rawJwtToken)))
      .then((key) => done(null, KeyObject.from(key) as unknown as Buffer))
      .catch((error: unknown) => done(error instanceof Error ? error : new Error('no key for this token')));
  };
}

function unauthenticated(detail: string): UnauthenticatedError {
  return new UnauthenticatedError(detail);
}

/** Checks the claims the contract requires beyond the signature; anything malformed is a 401. */
export function callerFromClaims(payload: Record<string, unknown>, maxTtlSeconds: number, nowSeconds = Date.now() / 1000): Caller {
  const { sub, roles, exp } = payload;
  if (typeof exp !== 'number') throw unauthenticated('Token has no exp claim');
  if (exp - nowSeconds > maxTtlSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw unauthenticated(`Token lifetime exceeds the accepted maximum of ${maxTtlSeconds} s`);
  }
  if (typeof sub !== 'string' || sub.trim() === '') throw unauthenticated('Token has no sub claim');
  if (!Array.isArray(roles) || !roles.every((role): role is string => typeof role === 'string')) {
    throw unauthenticated('Token roles must be an array of strings');
  }
  const unknown = roles.filter((role) => !isRole(role));
  if (unknown.length > 0) throw unauthenticated(`Unknown role(s): ${unknown.join(', ')}`);
  return { sub, roles: [...new Set(roles)] };
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly maxTtlSeconds: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const common = {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Pinned: a token signed with any other algorithm, including "none", is rejected.
      algorithms: config.jwt.algorithms as never,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: CLOCK_TOLERANCE_SECONDS },
    };
    super(
      config.jwt.jwksUrl
        ? { ...common, passReqToCallback: false, secretOrKeyProvider: jwksKeyProvider(config.jwt.jwksUrl) }
        : // passport-jwt hands the key to jsonwebtoken.verify unchanged, which takes a KeyObject (its typings lag).
          { ...common, secretOrKey: staticKey(config) as unknown as Buffer },
    );
    this.maxTtlSeconds = config.jwt.maxTtlSeconds;
  }

  validate(payload: Record<string, unknown>): Caller {
    return callerFromClaims(payload, this.maxTtlSeconds);
  }
}
