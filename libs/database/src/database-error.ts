/**
 * What went wrong in PostgreSQL, read from whatever wrapper Prisma put around the driver error.
 * Prisma 7 with a driver adapter reports query-builder errors as P20xx with `meta.driverAdapterError`
 * and raw-query errors as P2010 with the SQLSTATE in `meta.code`; both are handled here so that the
 * rest of the code can ask simple questions ("was it this unique index?").
 */
export interface DatabaseErrorInfo {
  sqlState?: string;
  constraint?: string;
  message: string;
  kind?: string;
}

/** Beyond class 08 (connection exception, which includes a pooler refusing the connection's startup: 08P01). */
const CONNECTION_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
const CONNECTION_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'DatabaseDoesNotExist',
]);
const NODE_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
const CONNECTION_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

interface Loose {
  [key: string]: unknown;
}

function asObject(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null ? (value as Loose) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function describeDatabaseError(error: unknown): DatabaseErrorInfo | undefined {
  const root = asObject(error);
  if (!root) return undefined;
  const meta = asObject(root.meta);
  const adapterError = asObject(meta?.driverAdapterError) ?? asObject(root.cause);
  const cause = asObject(adapterError?.cause) ?? adapterError;
  const original = asObject(cause?.originalCode) ? undefined : cause;
  const sqlState =
    str(original?.originalCode) ??
    str(cause?.code) ??
    str(meta?.code) ??
    (str(root.code)?.match(/^[0-9A-Z]{5}$/) ? str(root.code) : undefined);
  const constraintMeta = asObject(cause?.constraint);
  const constraint =
    str(constraintMeta?.index) ??
    str(cause?.constraint) ??
    str(meta?.constraint) ??
    str(asObject(meta?.target)?.index) ??
    str(root.constraint) ??
    constraintFromMessage(str(meta?.message) ?? str(original?.originalMessage) ?? str(root.message));
  const kind = str(cause?.kind);
  const prismaCode = str(root.code);
  const message = str(root.message) ?? 'database error';
  if (!sqlState && !kind && !prismaCode?.startsWith('P') && !NODE_CONNECTION_CODES.has(prismaCode ?? '')) return undefined;
  return { sqlState, constraint, message, kind: kind ?? prismaCode };
}

function constraintFromMessage(message: string | undefined): string | undefined {
  return message?.match(/constraint "([^"]+)"/)?.[1] ?? message?.match(/index "([^"]+)"/)?.[1];
}

/** Deadlocks and serialization failures: the transaction can simply be run again. */
export function isRetryableConflict(error: unknown): boolean {
  const info = describeDatabaseError(error);
  return info?.sqlState === '40001' || info?.sqlState === '40P01' || info?.kind === 'TransactionWriteConflict' || info?.kind === 'P2034';
}

/**
 * A lock not obtained within lock_timeout (55P03), or an interactive transaction that outlived its
 * Prisma timeout (P2028, usually while waiting for a lock): the work may succeed if retried later.
 */
export function isLockWaitExceeded(error: unknown): boolean {
  return isLockNotAvailable(error) || describeDatabaseError(error)?.kind === 'P2028';
}

/** lock_not_available (55P03): a lock not obtained within lock_timeout. */
export function isLockNotAvailable(error: unknown): boolean {
  return describeDatabaseError(error)?.sqlState === '55P03';
}

export function isConnectionFailure(error: unknown): boolean {
  const root = asObject(error);
  if (root && NODE_CONNECTION_CODES.has(str(root.code) ?? '')) return true;
  const message = str(root?.message) ?? '';
  if (
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  ) {
    return true;
  }
  const info = describeDatabaseError(error);
  if (!info) return false;
  return (
    (info.sqlState ?? '').startsWith('08') ||
    CONNECTION_STATES.has(info.sqlState ?? '') ||
    CONNECTION_KINDS.has(info.kind ?? '') ||
    CONNECTION_PRISMA_CODES.has(info.kind ?? '')
  );
}
