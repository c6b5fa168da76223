export const DATABASE_OPTIONS = Symbol('DATABASE_OPTIONS');

export interface DatabaseOptions {
  url: string;
  /** For the LISTEN connection; unset, url serves. */
  directUrl?: string;
  poolMax: number;
}
