import { randomUUID } from 'node:crypto';

import { adminToken, bearer, type TestApp } from './test-app.js';

export interface EngineerBody {
  name?: string;
  email?: string;
  expertise?: string[];
  maxConcurrentReviews?: number;
  status?: string;
}

export async function createEngineer(t: TestApp, body: EngineerBody = {}): Promise<Record<string, any>> {
  const res = await t.http
    .post('/api/v1/engineers')
    .set(bearer(adminToken()))
    .send({ name: 'Ada Lovelace', email: `ada-${randomUUID()}@example.com`, ...body });
  if (res.status !== 201) throw new Error(`createEngineer: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function createIncident(t: TestApp, body: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await t.http
    .post('/api/v1/incidents')
    .set(bearer(adminToken()))
    .send({ title: 'Database latency', severity: 'high', aiProposal: 'Restart the primary', ...body });
  if (res.status !== 201) throw new Error(`createIncident: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
