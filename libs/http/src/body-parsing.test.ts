import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { installBodyParsing, MAX_BODY_BYTES } from './body-parsing.js';

/** What the handler sees: the parsed body, and the code of the error recorded for after authentication. */
interface Seen {
  body: unknown;
  bodyError: string | null;
}

describe('request bodies as Fastify parses them', () => {
  let fastify: FastifyInstance;
  beforeAll(async () => {
    fastify = Fastify();
    installBodyParsing(fastify);
    fastify.post('/echo', (request) => ({ body: request.body ?? null, bodyError: request.bodyError?.code ?? null }));
    fastify.get('/echo', (request) => ({ body: request.body ?? null, bodyError: request.bodyError?.code ?? null }));
    await fastify.ready();
  });
  afterAll(async () => {
    await fastify.close();
  });

  async function post(payload: string | Buffer, contentType?: string): Promise<Seen & { status: number }> {
    const res = await fastify.inject({
      method: 'POST',
      url: '/echo',
      payload,
      headers: contentType ? { 'content-type': contentType } : {},
    });
    return { status: res.statusCode, ...(res.statusCode === 200 ? (res.json() as Seen) : { body: null, bodyError: null }) };
  }

  it('parses JSON, with or without charset=utf-8 and a byte order mark; an empty body is none', async () => {
    expect(await post('{"a":[1,"x"]}', 'application/json')).toEqual({ status: 200, body: { a: [1, 'x'] }, bodyError: null });
    expect(await post('{"a":1}', 'Application/JSON; charset=UTF-8')).toEqual({ status: 200, body: { a: 1 }, bodyError: null });
    expect(await post(Buffer.from('\ufeff{"a":1}'), 'application/json')).toEqual({ status: 200, body: { a: 1 }, bodyError: null });
    expect(await post('', 'application/json')).toEqual({ status: 200, body: null, bodyError: null });
    expect(await post('null', 'application/json')).toEqual({ status: 200, body: null, bodyError: null });
  });

  it('records, without refusing yet, a body that is not JSON, in another charset, malformed, or beyond the limits', async () => {
    expect((await post('hello', 'text/plain')).bodyError).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await post('{"a":1}')).bodyError).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await post('{"a":1}', 'application/json; charset=latin1')).bodyError).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await post('{"a":', 'application/json')).bodyError).toBe('VALIDATION_FAILED');
    expect((await post('{"__proto__":{"x":1}}', 'application/json')).bodyError).toBe('VALIDATION_FAILED');
    expect((await post(`${'['.repeat(17)}${']'.repeat(17)}`, 'application/json')).bodyError).toBe('VALIDATION_FAILED');
    for (const seen of [await post('hello', 'text/plain'), await post('{"a":', 'application/json')]) expect(seen.body).toBeNull();
  });

  it('refuses a JSON body over 1 MiB at once, and parses none on GET', async () => {
    const big = `"${'x'.repeat(MAX_BODY_BYTES)}"`;
    const tooLarge = await fastify.inject({ method: 'POST', url: '/echo', payload: big, headers: { 'content-type': 'application/json' } });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json()).toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    const get = await fastify.inject({ method: 'GET', url: '/echo', payload: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(get.json()).toEqual({ body: null, bodyError: null });
  });
});
