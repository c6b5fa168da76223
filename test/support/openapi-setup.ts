import { afterAll, afterEach } from 'vitest';

import { takeViolations } from './openapi-validation.js';

/** Every test fails when a response sent during it is not what the OpenAPI document describes. */
function expectDocumentedResponses(): void {
  const { violations } = takeViolations();
  if (violations.length > 0) throw new Error(`Responses the OpenAPI document does not describe:\n${violations.join('\n')}`);
}

afterEach(expectDocumentedResponses);
afterAll(expectDocumentedResponses);
