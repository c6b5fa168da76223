import { call } from './http-client.js';
import { adminToken, engineerToken } from './test-app.js';

/** The review of an incident taken from assignment to submission, each step on the replica `at(step)` picks. */
export async function assignAndSubmit(
  at: (step: number) => string,
  incidentId: string,
  engineerId: string,
  options: { priority?: string; approach?: string } = {},
): Promise<string> {
  const admin = adminToken();
  const assigned = await call(at(0), 'POST', '/api/v1/reviews', admin, { incidentId, engineerId, priority: options.priority ?? 'normal' });
  if (assigned.status !== 201) throw new Error(`assign: ${assigned.status} ${JSON.stringify(assigned.body)}`);
  const reviewId = assigned.body.id as string;
  const started = await call(at(1), 'POST', `/api/v1/reviews/${reviewId}/start`, engineerToken(engineerId));
  if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
  const submitted = await call(at(2), 'POST', `/api/v1/reviews/${reviewId}/submit`, engineerToken(engineerId), {
    approach: options.approach ?? 'Fail over to the replica',
  });
  if (submitted.status !== 200) throw new Error(`submit: ${submitted.status} ${JSON.stringify(submitted.body)}`);
  return reviewId;
}

export async function decide(
  baseUrl: string,
  incidentId: string,
  decision = 'engineer_approach',
  sub = 'admin-1',
): Promise<{ status: number; body: any }> {
  return call(baseUrl, 'POST', `/api/v1/incidents/${incidentId}/decision`, adminToken(sub), { decision, rationale: 'Safer' });
}
