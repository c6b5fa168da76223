import type { OpenAPIObject } from '@nestjs/swagger';
import { describe, expect, it } from 'vitest';

import { type Exchange, OpenApiResponseValidator } from './openapi-validation.js';

const document = {
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths: {
    '/things/{id}': {
      get: {
        responses: {
          200: {
            description: 'ok',
            headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
          404: {
            description: 'missing',
            headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } },
            content: {
              'application/problem+json': {
                schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { properties: { code: { enum: ['NOT_FOUND'] } } }] },
              },
            },
          },
        },
      },
    },
    '/things/mine': { get: { responses: { 204: { description: 'none' } } } },
  },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        required: ['id', 'at'],
        properties: { id: { type: 'string', format: 'uuid' }, at: { type: 'string', format: 'date-time', nullable: true } },
      },
      Problem: { type: 'object', required: ['status', 'code'], properties: { status: { type: 'integer' }, code: { type: 'string' } } },
    },
    headers: { 'X-Request-Id': { required: true, schema: { type: 'string' } } },
  },
} as unknown as OpenAPIObject;

const validator = new OpenApiResponseValidator(document);
const id = '0b6f3b1e-8a53-4f1c-9f5e-2a4d7c6e9b10';
const json = (body: unknown, type = 'application/json'): Pick<Exchange, 'headers' | 'body'> => ({
  headers: { 'content-type': `${type}; charset=utf-8`, 'x-request-id': 'r' },
  body: Buffer.from(JSON.stringify(body)),
});
const get = (url: string, status: number, rest: Pick<Exchange, 'headers' | 'body'>): string[] =>
  validator.check({ method: 'GET', url, status, ...rest });

describe('OpenApiResponseValidator', () => {
  it('accepts a documented response: path template, status, content type, body and headers', () => {
    expect(get(`/things/${id}?x=1`, 200, json({ id, at: null }))).toEqual([]);
    expect(get(`/things/${id}`, 404, json({ status: 404, code: 'NOT_FOUND' }, 'application/problem+json'))).toEqual([]);
    expect(get('/things/mine', 204, { headers: {}, body: Buffer.alloc(0) })).toEqual([]);
  });

  it('reports undocumented statuses, content types, codes, fields and missing headers', () => {
    expect(get(`/things/${id}`, 409, json({}))).toEqual([expect.stringContaining('status not documented')]);
    expect(get(`/things/${id}`, 200, json({ id, at: null }, 'text/plain'))).toEqual([
      expect.stringContaining('content type "text/plain" not documented'),
    ]);
    expect(get(`/things/${id}`, 404, json({ status: 404, code: 'GONE' }, 'application/problem+json'))).toEqual([
      expect.stringContaining('allowed values'),
    ]);
    expect(get(`/things/${id}`, 200, json({ id, at: 'yesterday' }))).toEqual([expect.stringContaining('must match format "date-time"')]);
    expect(get(`/things/${id}`, 200, json({ id, at: null, extra: 1 }))).toEqual([
      expect.stringContaining('must NOT have additional properties'),
    ]);
    expect(get(`/things/${id}`, 200, { ...json({ id, at: null }), headers: { 'content-type': 'application/json' } })).toEqual([
      expect.stringContaining('header x-request-id is required but missing'),
    ]);
    expect(get('/things/mine', 204, { headers: { 'retry-after': '1' }, body: Buffer.alloc(0) })).toEqual([
      expect.stringContaining('retry-after is sent but not documented'),
    ]);
  });

  it('expects the router to answer paths and methods the document does not have', () => {
    const problem = (code: string, status: number) => json({ status, code }, 'application/problem+json');
    expect(get('/nowhere', 404, problem('NOT_FOUND', 404))).toEqual([]);
    expect(validator.check({ method: 'DELETE', url: '/things/mine', status: 405, ...problem('METHOD_NOT_ALLOWED', 405) })).toEqual([]);
    expect(get('/nowhere', 200, json({}))).toEqual([expect.stringContaining("expected the router's 404")]);
  });
});
