export const DATABASE_OPTIONS = Symbol('DATABASE_OPTIONS');

export interface DatabaseOptions {
  url: string;
  /** For the LISTEN connection; unset, url serves. */
  directUrl?: string;
  poolMax: number;
  lockTimeoutMs: number;
  /**
   * DATABASE_URL is a transaction-mode pooler (DATABASE_DIRECT_URL is set apart from it): it carries
   * no startup options and no session settings, so the lock timeout is set in each transaction.
   */
  throughPooler: boolean;
  /** Each SQL text as a named prepared statement: only where every pool connection is a session of its own. */
  preparedStatements: boolean;
}
