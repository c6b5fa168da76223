import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';

import { APP_CONFIG, type AppConfig } from '@app/config';
import { type Caller, DomainError } from '@app/http';

import { isRole } from './permissions.js';

export const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * A KeyObject built once: given a string, jsonwebtoken first tries createPublicKey() on every
 * verification and, for an HMAC secret, catches the failure before falling back (4 % of a
 * replica's CPU under load in the benchmark's profile).
 */
function verificationKey(config: AppConfig): KeyObject {
  return config.jwt.publicKey ? createPublicKey(config.jwt.publicKey) : createSecretKey(Buffer.from(config.jwt.secret ?? '', 'utf8'));
}

function unauthenticated(detail: string): DomainError {
  return new DomainError(401, 'UNAUTHENTICATED', detail);
}

/** Checks the claims the contract requires beyond the signature; anything malformed is a 401. */
export function callerFromClaims(payload: Record<string, unknown>): Caller {
  const { sub, roles, exp } = payload;
  if (typeof exp !== 'number') throw unauthenticated('Token has no exp claim');
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
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt hands the key to jsonwebtoken.verify unchanged, which takes a KeyObject (its typings lag).
      secretOrKey: verificationKey(config) as unknown as Buffer,
      // Pinned: a token signed with any other algorithm, including "none", is rejected.
      algorithms: config.jwt.algorithms as never,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: CLOCK_TOLERANCE_SECONDS },
    });
  }

  validate(payload: Record<string, unknown>): Caller {
    return callerFromClaims(payload);
  }
}
