// The development JWT secret of `npm start` (trying the service out) and `npm run token`: a random
// value made on first use and kept in this checkout's .data/ folder (git-ignored, readable by its
// owner only), so no secret in the source can sign tokens for any running service. The built
// service never reads it: it refuses to start without JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEVELOPMENT_SECRET_FILE = path.join(projectRoot, '.data', 'development-jwt-secret');

export function developmentJwtSecret() {
  try {
    return readFileSync(DEVELOPMENT_SECRET_FILE, 'utf8').trim();
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  mkdirSync(path.dirname(DEVELOPMENT_SECRET_FILE), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  try {
    writeFileSync(DEVELOPMENT_SECRET_FILE, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Made meanwhile by another process (npm start and npm run token at once): use theirs.
    if (error.code === 'EEXIST') return readFileSync(DEVELOPMENT_SECRET_FILE, 'utf8').trim();
    throw error;
  }
}
