// Every call the console makes to the service goes through this module, with the person's own token.

import { type components, createClient, type paths, type ReviewEventMessage, streamEvents } from '@app/client';

type Schemas = components['schemas'];
export type Review = Schemas['ReviewView'];
export type ReviewStatus = Review['status'];
export type Priority = Review['priority'];
export type Engineer = Schemas['EngineerView'];
export type EngineerStatus = Engineer['status'];
export type Incident = Schemas['IncidentView'];
export type IncidentWithReviews = Incident & { reviews?: Review[] };
export type AuditEntry = Schemas['AuditEntryView'];
export type AuditAction = AuditEntry['action'];
export type ChainVerification = Schemas['ChainVerificationDto'] & { unsealed?: number };
export type DecisionValue = Schemas['DecisionDto']['decision'];
export type CreateEngineer = Schemas['CreateEngineerDto'];
export type UpdateEngineer = Schemas['UpdateEngineerDto'];
export type AuditFilters = NonNullable<paths['/api/v1/audit']['get']['parameters']['query']>;
export type DrainResult = {
  engineer: Engineer;
  reassigned: { fromReviewId: string; toReviewId: string; engineerId: string }[];
  notReassigned: string[];
};

export type AuditHead = Schemas['ChainHeadDto'];
export type DecisionView = Schemas['DecisionView'];

export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  errors?: { field: string; message: string }[];
}

/** An API answer that is not a success, told in words a person understands. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(describeProblem(problem, retryAfterSeconds));
  }

  /** The same, naming each refused field by the label the person saw (`fieldLabels`: API field → label). */
  describe(fieldLabels: Record<string, string> = {}): string {
    return describeProblem(this.problem, this.retryAfterSeconds, fieldLabels);
  }
}

function describeProblem(problem: Problem, retryAfterSeconds: number | null, fieldLabels: Record<string, string> = {}): string {
  const lines = [problem.detail || problem.title || `The service answered ${problem.status}.`];
  for (const error of problem.errors ?? []) lines.push(`${fieldLabels[error.field.split('.')[0]] ?? error.field}: ${error.message}`);
  if (problem.status === 401) lines.push('Sign in again to continue.');
  if (problem.status === 403) lines.push('Your role does not allow this.');
  if (retryAfterSeconds !== null) lines.push(`Try again in ${retryAfterSeconds} s.`);
  return lines.join('\n');
}

let currentToken: string | null = null;
let onUnauthenticated: (error: ApiError) => void = () => undefined;

export function setToken(token: string | null): void {
  currentToken = token;
}

/** Called when the service refuses the token itself (401): the person has to sign in again. */
export function whenUnauthenticated(handler: (error: ApiError) => void): void {
  onUnauthenticated = handler;
}

const client = createClient({ baseUrl: location.origin, token: () => currentToken ?? '' });

/**
 * The review events this person may see (GET /api/v1/events), live, resuming after a dropped
 * connection without losing or repeating one. Ends when `signal` aborts or the stream is refused.
 */
export function reviewEvents(signal: AbortSignal): AsyncGenerator<ReviewEventMessage> {
  return streamEvents({ baseUrl: location.origin, token: () => currentToken ?? '', signal });
}

function problemOf(response: Response, body: unknown): ApiError {
  const retryAfter = Number(response.headers.get('Retry-After'));
  const problem: Problem =
    body && typeof body === 'object'
      ? { status: response.status, ...(body as Partial<Problem>) }
      : { status: response.status, detail: `The service answered ${response.status} ${response.statusText}.` };
  const error = new ApiError(response.status, problem, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
  if (response.status === 401) onUnauthenticated(error);
  return error;
}

async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(0, { status: 0, detail: 'The service could not be reached. Check your connection and try again.' });
  }
  if (!result.response.ok) throw problemOf(result.response, result.error);
  return result.data as T;
}

const commaList = { array: { style: 'form', explode: false } } as const;

export const api = {
  me: () => unwrap(client.GET('/api/v1/engineers/me')),
  reviews: (query: { status?: ReviewStatus[]; engineerId?: string; incidentId?: string; pageSize?: number; page?: number }) =>
    unwrap(client.GET('/api/v1/reviews', { params: { query }, querySerializer: commaList })),
  review: (id: string) => unwrap(client.GET('/api/v1/reviews/{id}', { params: { path: { id } } })),
  start: (id: string) => unwrap(client.POST('/api/v1/reviews/{id}/start', { params: { path: { id } } })),
  submit: (id: string, body: { approach: string; analysis: string | null; confidence: number | null }) =>
    unwrap(client.POST('/api/v1/reviews/{id}/submit', { params: { path: { id } }, body })),
  cancel: (id: string, reason: string) =>
    unwrap(client.POST('/api/v1/reviews/{id}/cancel', { params: { path: { id } }, body: { reason } })),
  reassign: (id: string, engineerId: string, reason: string) =>
    unwrap(client.POST('/api/v1/reviews/{id}/reassign', { params: { path: { id } }, body: { engineerId, reason } })),
  assign: (incidentId: string, engineerId: string, priority: Priority) =>
    unwrap(client.POST('/api/v1/reviews', { body: { incidentId, engineerId, priority } })),
  autoAssign: (incidentId: string, priority: Priority) =>
    unwrap(client.POST('/api/v1/reviews/auto-assign', { body: { incidentId, priority } })),

  incident: (id: string) => unwrap(client.GET('/api/v1/incidents/{id}', { params: { path: { id } } })) as Promise<IncidentWithReviews>,
  incidents: (status: Incident['status']) => unwrap(client.GET('/api/v1/incidents', { params: { query: { status, pageSize: 100 } } })),
  /** The decision, or with a quorum (DECISION_APPROVALS_<priority> > 1) a vote: then the decision's state while more are needed. */
  decide: async (incidentId: string, decision: DecisionValue, rationale: string): Promise<DecisionView | null> => {
    const answer = await unwrap(
      client.POST('/api/v1/incidents/{id}/decision', { params: { path: { id: incidentId } }, body: { decision, rationale } }),
    );
    return 'state' in answer ? answer : null;
  },
  decision: (incidentId: string) => unwrap(client.GET('/api/v1/incidents/{id}/decision', { params: { path: { id: incidentId } } })),

  engineers: (includeDeleted = false) => unwrap(client.GET('/api/v1/engineers', { params: { query: { pageSize: 100, includeDeleted } } })),
  available: (expertise: string[]) => unwrap(client.GET('/api/v1/engineers/available', { params: { query: { expertise, limit: 10 } } })),
  engineer: (id: string) => unwrap(client.GET('/api/v1/engineers/{id}', { params: { path: { id } } })),
  createEngineer: (body: CreateEngineer) => unwrap(client.POST('/api/v1/engineers', { body })),
  updateEngineer: (id: string, body: UpdateEngineer) => unwrap(client.PATCH('/api/v1/engineers/{id}', { params: { path: { id } }, body })),
  deleteEngineer: (id: string) => unwrap(client.DELETE('/api/v1/engineers/{id}', { params: { path: { id } } })),
  // The OpenAPI document describes no body for this answer.
  drain: (id: string, status: 'on_leave' | 'offline', reason: string) =>
    unwrap(client.POST('/api/v1/engineers/{id}/drain', { params: { path: { id } }, body: { status, reason } })).then(
      (body) => body as unknown as DrainResult,
    ),

  audit: (query: AuditFilters) => unwrap(client.GET('/api/v1/audit', { params: { query } })),
  verifyAudit: () => unwrap(client.GET('/api/v1/audit/verify')) as Promise<ChainVerification>,
  auditHead: () => unwrap(client.GET('/api/v1/audit/head')),
};
