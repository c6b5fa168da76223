import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { auditOf } from '../support/audit.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, serviceToken, startTestApp, type TestApp } from '../support/test-app.js';

const admin = bearer(adminToken());

describe('review lifecycle', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  const auditActions = async (entityId: string): Promise<string[]> => (await auditOf(t, entityId)).map((row) => row.action);

  it('assigns, starts, submits and decides, keeping counters, incident and audit in step', async () => {
    const engineer = await createEngineer(t, { maxConcurrentReviews: 2 });
    const incident = await createIncident(t);
    const assigned = await t.http
      .post('/api/v1/reviews')
      .set(admin)
      .send({ incidentId: incident.id, engineerId: engineer.id, priority: 'high' });
    expect(assigned.status).toBe(201);
    const review = assigned.body;
    expect(review).toMatchObject({ status: 'assigned', priority: 'high', escalationLevel: 0, decision: 'pending', overdue: false });
    expect(review.assignment).toEqual({ strategy: 'manual', assignedBy: 'admin-1', candidates: null, loadRatio: null });
    expect(new Date(review.expectedCompletionAt).getTime() - new Date(review.assignedAt).getTime()).toBe(4 * 3600 * 1000);

    const afterAssign = await t.http.get(`/api/v1/engineers/${engineer.id}`).set(admin);
    expect(afterAssign.body).toMatchObject({ currentReviewCount: 1, isAvailable: true });
    const incidentAfter = await t.http.get(`/api/v1/incidents/${incident.id}`).set(admin);
    expect(incidentAfter.body).toMatchObject({ status: 'pending_approval', openReviewId: review.id });
    expect(incidentAfter.body.reviews.map((r: { id: string }) => r.id)).toEqual([review.id]);

    const mine = bearer(engineerToken(engineer.id));
    expect((await t.http.post(`/api/v1/reviews/${review.id}/start`).set(admin)).status).toBe(403);
    const started = await t.http.post(`/api/v1/reviews/${review.id}/start`).set(mine);
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('in_progress');
    const again = await t.http.post(`/api/v1/reviews/${review.id}/start`).set(mine);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('INVALID_TRANSITION');
    expect(again.body.detail).toContain('in_progress');

    const submitted = await t.http
      .post(`/api/v1/reviews/${review.id}/submit`)
      .set(mine)
      .send({ approach: 'Fail over', confidence: 0.8, analysis: null });
    expect(submitted.status).toBe(200);
    expect(submitted.body).toMatchObject({ status: 'submitted', approach: 'Fail over', confidence: 0.8 });

    const none = await t.http
      .post(`/api/v1/incidents/${incident.id}/decision`)
      .set(bearer(serviceToken()))
      .send({ decision: 'ai_approach', rationale: 'x' });
    expect(none.status).toBe(403);
    const decided = await t.http
      .post(`/api/v1/incidents/${incident.id}/decision`)
      .set(admin)
      .send({ decision: 'engineer_approach', rationale: 'Safer' });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({
      status: 'accepted',
      decision: 'engineer_approach',
      decidedBy: 'admin-1',
      decisionRationale: 'Safer',
    });
    const twice = await t.http
      .post(`/api/v1/incidents/${incident.id}/decision`)
      .set(admin)
      .send({ decision: 'ai_approach', rationale: 'x' });
    expect(twice.body.code).toBe('DECISION_ALREADY_MADE');

    expect((await t.http.get(`/api/v1/engineers/${engineer.id}`).set(admin)).body.currentReviewCount).toBe(0);
    const closed = await t.http.get(`/api/v1/incidents/${incident.id}`).set(admin);
    expect(closed.body).toMatchObject({ status: 'approved', chosenApproach: 'engineer_approach', openReviewId: null });
    expect(await auditActions(review.id)).toEqual(['review.assigned', 'review.started', 'review.submitted', 'review.decided']);
    expect(await auditActions(incident.id)).toEqual(['incident.created', 'incident.status_changed', 'incident.decided']);

    const closedAssign = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: engineer.id });
    expect(closedAssign.body.code).toBe('INCIDENT_CLOSED');
  });

  it('submit from assigned back-fills startedAt; cancel frees capacity', async () => {
    const engineer = await createEngineer(t, { maxConcurrentReviews: 1 });
    const first = await createIncident(t);
    const second = await createIncident(t);
    const review = (await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: first.id, engineerId: engineer.id })).body;
    const full = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: second.id, engineerId: engineer.id });
    expect(full.body.code).toBe('ENGINEER_AT_CAPACITY');
    const dup = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: first.id, engineerId: engineer.id });
    expect(dup.body.code).toBe('INCIDENT_HAS_OPEN_REVIEW');
    const submitted = await t.http
      .post(`/api/v1/reviews/${review.id}/submit`)
      .set(bearer(engineerToken(engineer.id)))
      .send({ approach: 'Roll back' });
    expect(submitted.body.startedAt).toBe(review.assignedAt);
    const cancelled = await t.http.post(`/api/v1/reviews/${review.id}/cancel`).set(admin).send({ reason: 'Resolved upstream' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancellationReason: 'Resolved upstream' });
    const ok = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: second.id, engineerId: engineer.id });
    expect(ok.status).toBe(201);
  });

  it('reassigns and auto-assigns with an explanation', async () => {
    const expertise = ['postgres-' + Date.now()];
    const a = await createEngineer(t, { expertise, maxConcurrentReviews: 2 });
    const b = await createEngineer(t, { expertise, maxConcurrentReviews: 4 });
    const incident = await createIncident(t, { requiredExpertise: expertise });
    const auto = await t.http.post('/api/v1/reviews/auto-assign').set(admin).send({ incidentId: incident.id });
    expect(auto.status).toBe(201);
    expect(auto.body.assignment).toMatchObject({ strategy: 'auto', candidates: 2, loadRatio: 0 });
    expect(auto.body.engineerId).toBe(a.id < b.id ? a.id : b.id);
    const target = auto.body.engineerId === a.id ? b : a;
    const same = await t.http
      .post(`/api/v1/reviews/${auto.body.id}/reassign`)
      .set(admin)
      .send({ engineerId: auto.body.engineerId, reason: 'x' });
    expect(same.body.code).toBe('SAME_ENGINEER');
    const moved = await t.http.post(`/api/v1/reviews/${auto.body.id}/reassign`).set(admin).send({ engineerId: target.id, reason: 'Load' });
    expect(moved.status).toBe(201);
    expect(moved.body).toMatchObject({ engineerId: target.id, reassignedFromId: auto.body.id, status: 'assigned' });
    expect(moved.body.assignment.strategy).toBe('reassign');
    const old = await t.http.get(`/api/v1/reviews/${auto.body.id}`).set(admin);
    expect(old.body).toMatchObject({ status: 'cancelled', cancellationReason: 'Load' });
    const drift = await t.http.get('/api/v1/admin/workload/drift').set(admin);
    expect(drift.body.drifted).toEqual([]);
  });
});
