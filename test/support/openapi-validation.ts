import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject, OperationObject, ReferenceObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** ajv-formats is CommonJS: its plugin is the default export's `default` once imported as ESM. */
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => Ajv;

export interface Exchange {
  method: string;
  url: string;
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: OperationObject['responses'];
}

/** Headers this service sets itself; sending one where the document does not list it is a mismatch. */
const OWN_HEADERS = ['retry-after', 'idempotent-replayed', 'x-request-id'];
const JSON_TYPES = new Set(['application/json', 'application/problem+json']);
/** Swagger UI, the document itself and the console's static files: not operations of the API. */
const OUTSIDE_THE_DOCUMENT = /^\/(docs(-json)?|console)(\/|$)/;

function isReference(value: unknown): value is ReferenceObject {
  return typeof value === 'object' && value !== null && '$ref' in value;
}

/**
 * Response bodies must be exactly what the document says: an object schema that lists its
 * properties and says nothing about others admits no others (allOf members excepted, where the
 * composition decides).
 */
function closeObjects(schema: unknown, inAllOf = false): void {
  if (typeof schema !== 'object' || schema === null || isReference(schema)) return;
  const object = schema as SchemaObject & Record<string, unknown>;
  if (object.properties && object.additionalProperties === undefined && !inAllOf) object.additionalProperties = false;
  for (const child of Object.values(object.properties ?? {})) closeObjects(child);
  closeObjects(object.items);
  if (typeof object.additionalProperties === 'object') closeObjects(object.additionalProperties);
  for (const member of object.allOf ?? []) closeObjects(member, true);
  for (const member of [...(object.oneOf ?? []), ...(object.anyOf ?? [])]) closeObjects(member);
}

/** Checks responses against an OpenAPI 3.0 document; schemas are compiled once, on first use. */
export class OpenApiResponseValidator {
  private readonly ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  private readonly operations: Operation[];
  private readonly document: OpenAPIObject;
  private readonly compiled = new Map<object, ValidateFunction>();
  private readonly routerMisses: Record<number, ResponseObject>;

  constructor(served: OpenAPIObject) {
    const document = JSON.parse(JSON.stringify(served).replaceAll('"#/components/', '"openapi#/components/')) as OpenAPIObject;
    for (const schema of Object.values(document.components?.schemas ?? {})) closeObjects(schema);
    this.ajv.addSchema({ components: document.components }, 'openapi');
    this.document = document;
    const routerMiss = (code: string): ResponseObject => ({
      description: 'Answered by the router',
      headers: { 'X-Request-Id': { $ref: 'openapi#/components/headers/X-Request-Id' } },
      content: {
        'application/problem+json': {
          schema: { allOf: [{ $ref: 'openapi#/components/schemas/Problem' }, { properties: { code: { enum: [code] } } }] },
        },
      },
    });
    this.routerMisses = { 404: routerMiss('NOT_FOUND'), 405: routerMiss('METHOD_NOT_ALLOWED') };
    const staticSegments = (template: string): number => template.split('/').filter((segment) => !segment.startsWith('{')).length;
    this.operations = Object.entries(document.paths)
      .flatMap(([template, item]) =>
        Object.entries(item)
          .filter(([method]) => ['get', 'put', 'post', 'patch', 'delete'].includes(method))
          .map(([method, operation]) => ({
            method: method.toUpperCase(),
            template,
            pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
            responses: (operation as OperationObject).responses,
          })),
      )
      .sort((a, b) => staticSegments(b.template) - staticSegments(a.template));
  }

  /** What is wrong with this response, if anything; empty when the document describes it. */
  check(exchange: Exchange): string[] {
    const path = exchange.url.split('?')[0] ?? '';
    if (OUTSIDE_THE_DOCUMENT.test(path)) return [];
    const onPath = this.operations.filter((operation) => operation.pattern.test(path));
    const operation = onPath.find((candidate) => candidate.method === exchange.method);
    const where = `${exchange.method} ${exchange.url} → ${exchange.status}`;
    if (!operation) return this.checkRouterMiss(exchange, onPath.length > 0).map((problem) => `${where}: ${problem}`);
    const declared = operation.responses[String(exchange.status)] ?? operation.responses.default;
    if (!declared) return [`${where}: status not documented for ${operation.method} ${operation.template}`];
    return this.checkResponse(exchange, this.resolve<ResponseObject>(declared)).map(
      (problem) => `${where} (${operation.method} ${operation.template}): ${problem}`,
    );
  }

  /** An unknown path is 404 NOT_FOUND and a known path with another method 405 METHOD_NOT_ALLOWED, both as problem+json. */
  private checkRouterMiss(exchange: Exchange, pathKnown: boolean): string[] {
    const status = pathKnown ? 405 : 404;
    if (exchange.status !== status) return [`no operation in the document answers this (expected the router's ${status})`];
    return this.checkResponse(exchange, this.routerMisses[status]!);
  }

  private checkResponse(exchange: Exchange, response: ResponseObject): string[] {
    return [...this.checkHeaders(exchange.headers, response), ...this.checkBody(exchange, response)];
  }

  private checkHeaders(headers: OutgoingHttpHeaders, response: ResponseObject): string[] {
    const problems: string[] = [];
    const documented = Object.entries(response.headers ?? {}).map(
      ([name, header]) => [name.toLowerCase(), this.resolve(header) as { required?: boolean; schema?: SchemaObject }] as const,
    );
    for (const [name, header] of documented) {
      const raw = headers[name];
      if (raw === undefined) {
        if (header.required) problems.push(`header ${name} is required but missing`);
        continue;
      }
      const value = header.schema?.type === 'integer' && /^[0-9]+$/.test(String(raw)) ? Number(raw) : String(raw);
      const validate = this.validator(header.schema ?? {});
      if (!validate(value)) problems.push(`header ${name}: ${this.ajv.errorsText(validate.errors)}`);
    }
    const names = new Set(documented.map(([name]) => name));
    for (const own of OWN_HEADERS)
      if (headers[own] !== undefined && !names.has(own)) problems.push(`header ${own} is sent but not documented`);
    return problems;
  }

  private checkBody(exchange: Exchange, response: ResponseObject): string[] {
    const content = response.content ?? {};
    const mediaType = String(exchange.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    // An NDJSON stream of no items is empty, and so is an event stream closed before its first event.
    if (exchange.body.length === 0 && mediaType !== 'application/x-ndjson' && mediaType !== 'text/event-stream') {
      return Object.keys(content).length === 0 || exchange.method === 'HEAD' ? [] : ['empty body, but the document describes content'];
    }
    const media = content[mediaType];
    if (!media) return [`content type "${mediaType}" not documented (documented: ${Object.keys(content).join(', ') || 'no body'})`];
    const validate = this.validator(media.schema ?? {});
    const text = exchange.body.toString('utf8');
    let values: unknown[];
    try {
      if (JSON_TYPES.has(mediaType)) values = [JSON.parse(text)];
      else if (mediaType === 'application/x-ndjson')
        values = text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as unknown);
      else values = [text];
    } catch (error) {
      return [`body is not ${mediaType}: ${(error as Error).message}`];
    }
    for (const value of values) {
      if (!validate(value)) return [`body does not match the schema: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}`];
    }
    return [];
  }

  private validator(schema: SchemaObject | ReferenceObject): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      closeObjects(schema);
      validate = this.ajv.compile(schema);
      this.compiled.set(schema, validate);
    }
    return validate;
  }

  private resolve<T>(value: T | ReferenceObject): T {
    if (!isReference(value)) return value;
    const [, pointer = ''] = value.$ref.split('#');
    return pointer
      .split('/')
      .filter(Boolean)
      .reduce<unknown>(
        (node, segment) => (node as Record<string, unknown>)[segment.replaceAll('~1', '/').replaceAll('~0', '~')],
        this.document,
      ) as T;
  }
}

let validator: OpenApiResponseValidator | undefined;
const violations: string[] = [];
let checked = 0;

function record(req: IncomingMessage, res: ServerResponse): void {
  const { method = '', url = '' } = req;
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    chunks.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
    );
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((...args: unknown[]) => {
    keep(args[0], args[1]);
    return write(...args);
  }) as typeof res.write;
  res.end = ((...args: unknown[]) => {
    keep(args[0], args[1]);
    return end(...args);
  }) as typeof res.end;
  res.on('finish', () => {
    if (!validator) return;
    checked += 1;
    try {
      violations.push(...validator.check({ method, url, status: res.statusCode, headers: res.getHeaders(), body: Buffer.concat(chunks) }));
    } catch (error) {
      violations.push(`${method} ${url} → ${res.statusCode}: could not be checked: ${(error as Error).message}`);
    }
  });
}

/**
 * Checks every response the application sends against the OpenAPI document it serves (read from
 * its own /docs-json once per process). Call before the application answers its first request.
 */
export function checkResponsesAgainstDocument(app: INestApplication): void {
  (app.getHttpServer() as Server).prependListener('request', record);
}

/** Loads the document from a listening application, once per process. */
export async function loadServedDocument(app: INestApplication): Promise<void> {
  if (validator) return;
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/docs-json`);
  validator = new OpenApiResponseValidator((await res.json()) as OpenAPIObject);
}

/** The mismatches found since the last call (and how many responses were checked in all). */
export function takeViolations(): { violations: string[]; checked: number } {
  return { violations: violations.splice(0), checked };
}
