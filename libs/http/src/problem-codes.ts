import type { ERROR_CODES, ErrorCode } from '@app/common';

import type { STATUS_OF_KIND } from './problem.js';

export const PROBLEM_CODES = 'http:problem-codes';

type ErrorStatus = (typeof STATUS_OF_KIND)[keyof typeof STATUS_OF_KIND];

/** The codes answered with this status (their kind's status). */
export type CodesWithStatus<S extends ErrorStatus> = {
  [C in ErrorCode]: (typeof STATUS_OF_KIND)[(typeof ERROR_CODES)[C]] extends S ? C : never;
}[ErrorCode];

/**
 * Error statuses a route can answer, each with the `code` values it can carry there, in check order.
 * A code listed under a status it is never answered with does not compile.
 */
export type ProblemCodes = { readonly [S in ErrorStatus]?: readonly CodesWithStatus<S>[] };

type CodesByStatus = Partial<Record<number, readonly ErrorCode[]>>;

export interface ProblemOptions {
  /** Extra members of the problem body on one status (e.g. terminus's result on a failed health check). */
  members?: Partial<Record<number, Record<string, object>>>;
}

export interface RouteProblems {
  codes: CodesByStatus;
  members: Partial<Record<number, Record<string, object>>>;
}

/** What each code means, from the contract's error table; the OpenAPI document lists it per route. */
export const ERROR_CODE_MEANINGS: Record<ErrorCode, string> = {
  VALIDATION_FAILED:
    'body, query, path parameter or header invalid (malformed JSON, wrong type, out of range, unknown field, bad UUID); `errors` names the fields',
  EMAIL_DOMAIN_NOT_ALLOWED: "ALLOWED_EMAIL_DOMAINS is set and the email's domain is not in it",
  UNAUTHENTICATED: 'no token, bad signature, wrong algorithm, expired, wrong iss/aud, unknown role',
  FORBIDDEN: 'authenticated, but the role may not call this endpoint',
  SELF_DECISION_FORBIDDEN: 'the caller is the engineer who submitted the review being decided',
  NOT_FOUND: 'resource absent, or owned by another engineer',
  NO_SUBMITTED_REVIEW: 'the incident has no submitted review to decide',
  EMAIL_TAKEN: 'another engineer (deleted ones included) has this email',
  ENGINEER_UNAVAILABLE: 'the engineer is not active, or is deleted',
  ENGINEER_AT_CAPACITY: 'the engineer already has maxConcurrentReviews open reviews',
  ENGINEER_HAS_OPEN_REVIEWS: 'the engineer still has open reviews',
  CAPACITY_BELOW_OPEN_REVIEWS: 'maxConcurrentReviews would be below the current open count',
  ENGINEER_DELETED: 'the engineer is deleted',
  INCIDENT_HAS_OPEN_REVIEW: 'the incident already has an open review',
  INCIDENT_CLOSED: 'the incident is approved or resolved',
  NO_ENGINEER_AVAILABLE: 'auto-assignment found nobody eligible',
  SAME_ENGINEER: 'the engineer already holds the review',
  INVALID_TRANSITION: 'the move is not allowed from the current status (detail names both)',
  DECISION_ALREADY_MADE: 'the incident already has a decision',
  ALREADY_VOTED: 'this admin already voted on the pending decision (quorum)',
  EVENT_ID_EXPIRED: 'Last-Event-ID names an event that is unknown or past retention: start afresh',
  IDEMPOTENCY_KEY_REUSED: 'the same Idempotency-Key was sent with a different body',
  RATE_LIMITED: 'too many assignment calls by this subject in the current window',
  METHOD_NOT_ALLOWED: 'the path exists, the method does not',
  UNSUPPORTED_MEDIA_TYPE: 'a request body that is not application/json',
  PAYLOAD_TOO_LARGE: 'a request body over 1 MiB',
  SERVICE_UNAVAILABLE: 'database unreachable, or a lock or serialization conflict persisted after bounded retries; retry after Retry-After',
  INTERNAL_ERROR: 'an unexpected error (logged with the request id; no details are sent)',
};

function merged(existing: RouteProblems | undefined, codes: CodesByStatus, options: ProblemOptions): RouteProblems {
  const result: RouteProblems = { codes: { ...existing?.codes }, members: { ...existing?.members, ...options.members } };
  for (const [status, list] of Object.entries(codes)) {
    result.codes[Number(status)] = [...new Set([...(result.codes[Number(status)] ?? []), ...(list ?? [])])];
  }
  return result;
}

/**
 * Declares the error statuses and codes a route (or every route of a controller) can answer beyond
 * the ones every route shares. Declarations add up, so @Allow and @AssignRateLimited contribute
 * theirs; the OpenAPI document lists them per operation and the end-to-end suite refuses any other.
 */
export function Problems(codes: ProblemCodes, options: ProblemOptions = {}): MethodDecorator & ClassDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value as object | undefined) ?? target;
    Reflect.defineMetadata(
      PROBLEM_CODES,
      merged(Reflect.getMetadata(PROBLEM_CODES, holder) as RouteProblems | undefined, codes, options),
      holder,
    );
    return descriptor as never;
  };
}

/** A route's declarations, its controller's first. */
export function routeProblems(controller: object, handler: object): RouteProblems {
  const forClass = Reflect.getMetadata(PROBLEM_CODES, controller) as RouteProblems | undefined;
  const forHandler = Reflect.getMetadata(PROBLEM_CODES, handler) as RouteProblems | undefined;
  return merged(forClass, forHandler?.codes ?? {}, { members: forHandler?.members });
}
