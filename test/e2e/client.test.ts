import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createClient,
  EventIdExpiredError,
  type ReviewEventMessage,
  streamEvents,
  waitForDecision,
} from '../../clients/typescript/src/index.js';
import { adminToken, engineerToken, serviceToken, startTestApp, type TestApp } from '../support/test-app.js';

describe('the TypeScript client against the live service', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it("runs an agent's loop: file an incident, wait for the decision while people review it, read the events", async () => {
    const agent = createClient({ baseUrl: t.baseUrl, token: serviceToken() });
    const admin = createClient({ baseUrl: t.baseUrl, token: () => adminToken() });

    const filed = await agent.POST('/api/v1/incidents', {
      body: { title: 'Disk full on db-3', severity: 'critical', aiProposal: 'Delete old WAL segments', requiredExpertise: [] },
    });
    expect(filed.response.status).toBe(201);
    const incidentId = filed.data!.id;
    const events: ReviewEventMessage[] = [];
    const stop = new AbortController();
    const reading = (async () => {
      for await (const event of streamEvents({ baseUrl: t.baseUrl, token: serviceToken(), incidentId, signal: stop.signal })) {
        events.push(event);
        if (event.type === 'review.decided') return;
      }
    })();
    const decision = waitForDecision(agent, incidentId, { timeoutSeconds: 30 });

    const engineer = await admin.POST('/api/v1/engineers', {
      body: { name: 'Grace', email: `grace-${incidentId}@example.com`, expertise: [], maxConcurrentReviews: 3, status: 'active' },
    });
    const review = await admin.POST('/api/v1/reviews', { body: { incidentId, engineerId: engineer.data!.id, priority: 'critical' } });
    const owner = createClient({ baseUrl: t.baseUrl, token: engineerToken(engineer.data!.id) });
    const submitted = await owner.POST('/api/v1/reviews/{id}/submit', {
      params: { path: { id: review.data!.id } },
      body: { approach: 'Grow the volume' },
    });
    expect(submitted.response.status).toBe(200);
    const pending = await agent.GET('/api/v1/incidents/{id}/decision', { params: { path: { id: incidentId } } });
    expect(pending.data).toMatchObject({ state: 'awaiting_decision', diff: '-Delete old WAL segments\n+Grow the volume' });
    const decided = await admin.POST('/api/v1/incidents/{id}/decision', {
      params: { path: { id: incidentId } },
      body: { decision: 'engineer_approach', rationale: 'WAL is needed for the replicas' },
    });
    expect(decided.response.status).toBe(200);

    expect(await decision).toMatchObject({
      state: 'decided',
      decision: 'engineer_approach',
      approach: 'Grow the volume',
      decidedBy: 'admin-1',
    });
    await reading;
    stop.abort();
    expect(events.map((event) => event.type)).toEqual(['review.assigned', 'review.submitted', 'review.decided']);
  });

  it('returns the decision as it stands when the timeout passes, and reports an expired resume point', async () => {
    const agent = createClient({ baseUrl: t.baseUrl, token: serviceToken() });
    const filed = await agent.POST('/api/v1/incidents', {
      body: { title: 'Slow queries', severity: 'low', aiProposal: 'Add an index', requiredExpertise: [] },
    });
    const started = Date.now();
    expect(await waitForDecision(agent, filed.data!.id, { timeoutSeconds: 1 })).toMatchObject({ state: 'awaiting_review' });
    expect(Date.now() - started).toBeLessThan(3_000);

    const stream = streamEvents({ baseUrl: t.baseUrl, token: serviceToken(), lastEventId: '3f1c6c1e-0000-4000-8000-000000000000' });
    await expect(stream.next()).rejects.toBeInstanceOf(EventIdExpiredError);
  });
});
