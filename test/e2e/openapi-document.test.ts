import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestApp, type TestApp } from '../support/test-app.js';

describe('the OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('is served exactly as committed in openapi.json (refresh it with npm run openapi:snapshot)', async () => {
    const served: unknown = (await t.http.get('/docs-json').expect(200)).body;
    const committed: unknown = JSON.parse(readFileSync('openapi.json', 'utf8'));
    expect(served).toEqual(committed);
  });
});
