import { STATUS_CODES } from 'node:http';

import type { OpenAPIObject, OperationObject, ParameterObject, ReferenceObject, ResponseObject, SchemaObject } from '@nestjs/swagger';

import type { ErrorCode } from '@app/common';

import { ERROR_CODE_MEANINGS, type RouteProblems, routeProblems } from './problem-codes.js';
import type { RouteDefinition } from './route-catalog.js';

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const ref = (kind: 'schemas' | 'headers' | 'parameters', name: string): ReferenceObject => ({ $ref: `#/components/${kind}/${name}` });

const PROBLEM_PROPERTIES: Record<string, SchemaObject | ReferenceObject> = {
  type: { type: 'string', example: 'about:blank' },
  title: { type: 'string', description: 'The HTTP reason phrase', example: 'Conflict' },
  status: { type: 'integer', minimum: 400, maximum: 599, example: 409 },
  code: {
    type: 'string',
    enum: Object.keys(ERROR_CODE_MEANINGS),
    description: 'Stable and machine-readable',
    example: 'ENGINEER_AT_CAPACITY',
  },
  detail: { type: 'string', example: 'Engineer 3f2c… has 3 of 3 open reviews' },
  instance: { type: 'string', description: 'The request path', example: '/api/v1/reviews' },
  requestId: { type: 'string', description: 'Equals the X-Request-Id response header', example: '5b0e7c1e-4a59-4c8e-9a43-0f6f1d2b7a10' },
  errors: {
    type: 'array',
    maxItems: 20,
    items: ref('schemas', 'FieldError'),
    description: 'Field-level validation failures (absent for malformed JSON and for failures that are not about one field)',
  },
};
const PROBLEM_REQUIRED = ['type', 'title', 'status', 'code', 'instance', 'requestId'];

const COMPONENTS = {
  schemas: {
    FieldError: {
      type: 'object',
      required: ['field', 'message'],
      properties: {
        field: { type: 'string', description: 'Dotted path inside the body or query, or the header name', example: 'expertise.2' },
        message: { type: 'string', example: 'must be 1–64 characters' },
      },
    },
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details; every 4xx and 5xx body is one',
      required: PROBLEM_REQUIRED,
      properties: PROBLEM_PROPERTIES,
    },
  } satisfies Record<string, SchemaObject>,
  headers: {
    'X-Request-Id': {
      description: 'Echoed from the request when it sent a sane one (1–200 printable ASCII characters), generated otherwise',
      required: true,
      schema: { type: 'string', minLength: 1, maxLength: 200 },
    },
    'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer', minimum: 1 } },
    'Idempotent-Replayed': {
      description: 'Present when this is the stored answer to an earlier request with the same Idempotency-Key and body',
      required: false,
      schema: { type: 'string', enum: ['true'] },
    },
    'WWW-Authenticate': { description: 'The authentication scheme expected', required: false, schema: { type: 'string' } },
  },
  parameters: {
    'Idempotency-Key': {
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Makes the POST safe to retry: the same key and body (compared as JSON values) within 24 h returns the stored answer with `Idempotent-Replayed: true` ' +
        'instead of acting twice; the same key with another body is 422. Scoped by subject, method and path.',
      schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x20-\\x7e]+$' },
    },
  },
};

/** Statuses decided before or by the idempotency check itself, so they are never replays. */
const NEVER_REPLAYED = new Set([401, 403, 413, 415, 422, 429]);

function problemSchema(status: number, codes: readonly ErrorCode[], members: Record<string, object> | undefined): SchemaObject {
  const narrowed: Record<string, SchemaObject> = {
    status: { type: 'integer', enum: [status] },
    code: { type: 'string', enum: [...codes] },
  };
  if (!members) return { allOf: [ref('schemas', 'Problem'), { type: 'object', properties: narrowed }] };
  return { type: 'object', required: PROBLEM_REQUIRED, properties: { ...PROBLEM_PROPERTIES, ...narrowed, ...members } };
}

function problemResponse(status: number, codes: readonly ErrorCode[], members: Record<string, object> | undefined): ResponseObject {
  const meanings = codes.map((code) => `\`${code}\`: ${ERROR_CODE_MEANINGS[code]}`).join('; ');
  const order = codes.length > 1 && status === 409 ? ' (checked in this order)' : '';
  return {
    description: `${STATUS_CODES[status] ?? 'Error'}. ${meanings}${order}`,
    content: { [PROBLEM_MEDIA_TYPE]: { schema: problemSchema(status, codes, members) } },
  };
}

/** The statuses every route shares, then the route's own declarations. */
function statusesOf(route: RouteDefinition, underApi: boolean, declared: RouteProblems): Map<number, ErrorCode[]> {
  const statuses = new Map<number, ErrorCode[]>();
  const add = (status: number, ...codes: readonly ErrorCode[]): void => {
    statuses.set(status, [...new Set([...(statuses.get(status) ?? []), ...codes])]);
  };
  // Any request may carry an unreadable or non-JSON body, and any handler may fail unexpectedly.
  add(400, 'VALIDATION_FAILED');
  add(413, 'PAYLOAD_TOO_LARGE');
  add(415, 'UNSUPPORTED_MEDIA_TYPE');
  add(500, 'INTERNAL_ERROR');
  if (underApi) add(503, 'SERVICE_UNAVAILABLE');
  if (underApi && route.method === 'POST') add(422, 'IDEMPOTENCY_KEY_REUSED');
  for (const [status, codes] of Object.entries(declared.codes)) add(Number(status), ...(codes ?? []));
  return new Map([...statuses].sort(([a], [b]) => a - b));
}

function headersFor(status: number, idempotent: boolean): Record<string, ReferenceObject> {
  return {
    'X-Request-Id': ref('headers', 'X-Request-Id'),
    ...(status === 429 || status === 503 ? { 'Retry-After': ref('headers', 'Retry-After') } : {}),
    ...(status === 401 ? { 'WWW-Authenticate': ref('headers', 'WWW-Authenticate') } : {}),
    ...(idempotent && status < 500 && !NEVER_REPLAYED.has(status) ? { 'Idempotent-Replayed': ref('headers', 'Idempotent-Replayed') } : {}),
  };
}

export function openApiPath(routePath: string): string {
  return routePath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * The HTTP conventions every route follows, written into the generated document from the routes'
 * own declarations: the error responses (problem+json, with the codes each route declares through
 * @Problems, @Allow and @AssignRateLimited; error responses declared any other way are replaced),
 * X-Request-Id on every response, Retry-After on 429 and 503, Idempotency-Key on POSTs under the
 * API prefix, and an explicit empty `security` on public routes.
 */
export function applyHttpConventions(document: OpenAPIObject, routes: readonly RouteDefinition[], apiPrefix: string): OpenAPIObject {
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...COMPONENTS.schemas },
    headers: { ...document.components?.headers, ...COMPONENTS.headers },
    parameters: { ...document.components?.parameters, ...(COMPONENTS.parameters as Record<string, ParameterObject>) },
  };
  for (const route of routes) {
    const path = openApiPath(route.path);
    const operation = document.paths[path]?.[route.method.toLowerCase() as 'get'] as OperationObject | undefined;
    if (!operation) throw new Error(`The OpenAPI document has no operation for ${route.method} ${route.path}`);
    const underApi = route.path.startsWith(`/${apiPrefix}/`);
    const idempotent = underApi && route.method === 'POST';
    const declared = routeProblems(route.controller, (route.controller.prototype as Record<string, object>)[route.handler]!);
    const responses: Record<string, ResponseObject> = {};
    for (const [status, response] of Object.entries(operation.responses)) {
      if (Number(status) < 400) responses[status] = response as ResponseObject;
    }
    for (const [status, codes] of statusesOf(route, underApi, declared)) {
      responses[status] = problemResponse(status, codes, declared.members[status]);
    }
    for (const [status, response] of Object.entries(responses)) {
      response.headers = { ...response.headers, ...headersFor(Number(status), idempotent) };
    }
    operation.responses = responses;
    if (idempotent) operation.parameters = [...(operation.parameters ?? []), ref('parameters', 'Idempotency-Key')];
    operation.security ??= [];
  }
  return document;
}
