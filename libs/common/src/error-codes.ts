/**
 * What kind of failure an error is. The kind decides the HTTP status, in one table of libs/http's
 * problem mapping; nothing below the HTTP layer names a status number.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'conflict'
  | 'too-large'
  | 'unsupported-media-type'
  | 'mismatch'
  | 'rate-limited'
  | 'unavailable'
  | 'integrity';

/**
 * Every `code` the API can answer (the contract's error table), each with its kind: a code has one
 * kind, so it always comes with the same status. Adding a code here is a change of the contract.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 'invalid',
  EMAIL_DOMAIN_NOT_ALLOWED: 'invalid',
  UNAUTHENTICATED: 'unauthenticated',
  FORBIDDEN: 'forbidden',
  SELF_DECISION_FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not-found',
  NO_SUBMITTED_REVIEW: 'not-found',
  EMAIL_TAKEN: 'conflict',
  ENGINEER_UNAVAILABLE: 'conflict',
  ENGINEER_AT_CAPACITY: 'conflict',
  ENGINEER_HAS_OPEN_REVIEWS: 'conflict',
  CAPACITY_BELOW_OPEN_REVIEWS: 'conflict',
  ENGINEER_DELETED: 'conflict',
  INCIDENT_HAS_OPEN_REVIEW: 'conflict',
  INCIDENT_CLOSED: 'conflict',
  NO_ENGINEER_AVAILABLE: 'conflict',
  SAME_ENGINEER: 'conflict',
  INVALID_TRANSITION: 'conflict',
  DECISION_ALREADY_MADE: 'conflict',
  EVENT_ID_EXPIRED: 'conflict',
  ALREADY_VOTED: 'conflict',
  IDEMPOTENCY_KEY_REUSED: 'mismatch',
  RATE_LIMITED: 'rate-limited',
  METHOD_NOT_ALLOWED: 'method-not-allowed',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported-media-type',
  PAYLOAD_TOO_LARGE: 'too-large',
  SERVICE_UNAVAILABLE: 'unavailable',
  INTERNAL_ERROR: 'integrity',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes of one kind, e.g. `CodeOf<'conflict'>` for the 409s. */
export type CodeOf<K extends ErrorKind> = { [C in ErrorCode]: (typeof ERROR_CODES)[C] extends K ? C : never }[ErrorCode];
