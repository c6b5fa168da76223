// Tokens and the deterministic ids shared by the SQL seeds, the pgbench scripts and the HTTP clients:
// benchUuid(text) equals the scratch database's bench_uuid(text) (BENCH_UUID_FUNCTION), so every side
// can name a row without a lookup. The ids are md5-based but shaped as version-4 UUIDs, which is what
// the API's UUID validation accepts.
import { createHash } from 'node:crypto';

import jwt from 'jsonwebtoken';

export const ADMIN_SUB = 'bench-admin';

export function benchUuid(text) {
  const md5 = createHash('md5').update(text).digest('hex');
  const hex = `${md5.slice(0, 12)}4${md5.slice(13, 16)}8${md5.slice(17)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const BENCH_UUID_FUNCTION = `CREATE FUNCTION bench_uuid(text) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (substr(md5($1), 1, 12) || '4' || substr(md5($1), 14, 3) || '8' || substr(md5($1), 18, 15))::uuid $$`;

/** Engineer n (1-based) of the load phases: client i of every tool works as engineer i + 1. */
export function benchEngineerId(n) {
  return benchUuid(`bench-engineer-${n}`);
}

export class Tokens {
  constructor(secret, ttlSeconds = 4 * 3600) {
    this.secret = secret;
    this.ttlSeconds = ttlSeconds;
    this.engineers = new Map();
    this.admin = this.sign(ADMIN_SUB, ['admin']);
  }

  sign(sub, roles) {
    return jwt.sign({ sub, roles }, this.secret, { algorithm: 'HS256', expiresIn: this.ttlSeconds });
  }

  engineer(id) {
    let token = this.engineers.get(id);
    if (!token) this.engineers.set(id, (token = this.sign(id, ['engineer'])));
    return token;
  }
}
