import { randomUUID } from 'node:crypto';

import type { components } from '../../clients/typescript/src/index.js';
import { adminToken, bearer, engineerToken, type TestApp } from './test-app.js';

// Fixtures made through the API, as a client would make them, typed by the views of the OpenAPI
// document (the typed client's schema): a test that reads a field the API does not have fails to compile.
type Schemas = components['schemas'];
export type Engineer = Schemas['EngineerView'];
export type Incident = Schemas['IncidentView'];
export type Review = Schemas['ReviewView'];
export type DrainResult = Schemas['DrainResultView'];

/** Any field may be given, also one the API refuses: tests of validation pass bodies the types forbid. */
export type EngineerBody = Partial<Schemas['CreateEngineerDto']> & Record<string, unknown>;
export type IncidentBody = Partial<Schemas['CreateIncidentDto']> & Record<string, unknown>;

export async function createEngineer(t: TestApp, body: EngineerBody = {}): Promise<Engineer> {
  const res = await t.http
    .post('/api/v1/engineers')
    .set(bearer(adminToken()))
    .send({ name: 'Ada Lovelace', email: `ada-${randomUUID()}@example.com`, ...body });
  if (res.status !== 201) throw new Error(`createEngineer: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Engineer;
}

export async function createIncident(t: TestApp, body: IncidentBody = {}): Promise<Incident> {
  const res = await t.http
    .post('/api/v1/incidents')
    .set(bearer(adminToken()))
    .send({ title: 'Database latency', severity: 'high', aiProposal: 'Restart the primary', ...body });
  if (res.status !== 201) throw new Error(`createIncident: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Incident;
}

/** A review of the incident assigned to the engineer by an admin (POST /reviews). */
export async function assignReview(
  t: TestApp,
  incidentId: string,
  engineerId: string,
  priority: Review['priority'] = 'normal',
): Promise<Review> {
  const res = await t.http.post('/api/v1/reviews').set(bearer(adminToken())).send({ incidentId, engineerId, priority });
  if (res.status !== 201) throw new Error(`assignReview: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Review;
}

/** A review taken to `status` through the API: assigned, started by its engineer, submitted, then decided or cancelled. */
export async function reviewIn(t: TestApp, status: Review['status'], engineer?: Engineer): Promise<Review> {
  const owner = engineer ?? (await createEngineer(t));
  const review = await assignReview(t, (await createIncident(t)).id, owner.id);
  const steps: { reach: Review['status'][]; send: () => Promise<{ status: number; body: unknown }> }[] = [
    {
      reach: ['in_progress', 'submitted', 'accepted', 'rejected'],
      send: () => t.http.post(`/api/v1/reviews/${review.id}/start`).set(bearer(engineerToken(owner.id))),
    },
    {
      reach: ['submitted', 'accepted', 'rejected'],
      send: () =>
        t.http
          .post(`/api/v1/reviews/${review.id}/submit`)
          .set(bearer(engineerToken(owner.id)))
          .send({ approach: 'Fail over to the replica' }),
    },
    {
      reach: ['accepted', 'rejected'],
      send: () =>
        t.http
          .post(`/api/v1/incidents/${review.incidentId}/decision`)
          .set(bearer(adminToken()))
          .send({ decision: status === 'accepted' ? 'engineer_approach' : 'ai_approach', rationale: 'Safer' }),
    },
    {
      reach: ['cancelled'],
      send: () => t.http.post(`/api/v1/reviews/${review.id}/cancel`).set(bearer(adminToken())).send({ reason: 'Not needed' }),
    },
  ];
  let current: Review = review;
  for (const step of steps.filter((candidate) => candidate.reach.includes(status))) {
    const res = await step.send();
    if (res.status !== 200) throw new Error(`reviewIn(${status}): ${res.status} ${JSON.stringify(res.body)}`);
    current = res.body as Review;
  }
  if (current.status !== status) throw new Error(`reviewIn(${status}): reached ${current.status}`);
  return current;
}
