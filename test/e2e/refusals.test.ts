import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { assignReview, createEngineer, createIncident, type DrainResult, type Engineer, reviewIn } from '../support/factories.js';
import { adminToken, bearer, startTestApp, type TestApp } from '../support/test-app.js';

const admin = bearer(adminToken());

/** Branches of the contract that only a refusal or an unusual answer reaches. */
describe('refusals and answers of the review use cases', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  const engineer = async (id: string): Promise<Engineer> =>
    (await t.http.get(`/api/v1/engineers/${id}`).set(admin).expect(200)).body as Engineer;

  it('refuses to assign to, or reassign to, a deleted engineer with 409 ENGINEER_UNAVAILABLE', async () => {
    const deleted = await createEngineer(t);
    await t.http.delete(`/api/v1/engineers/${deleted.id}`).set(admin).expect(204);
    const incident = await createIncident(t);

    const assign = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: deleted.id });
    expect([assign.status, assign.body.code]).toEqual([409, 'ENGINEER_UNAVAILABLE']);
    const open = await assignReview(t, incident.id, (await createEngineer(t)).id);
    const reassign = await t.http.post(`/api/v1/reviews/${open.id}/reassign`).set(admin).send({ engineerId: deleted.id, reason: 'Load' });
    expect([reassign.status, reassign.body.code]).toEqual([409, 'ENGINEER_UNAVAILABLE']);
    expect(await engineer(deleted.id)).toMatchObject({ currentReviewCount: 0, deletedAt: expect.any(String) });
    expect((await t.http.get(`/api/v1/reviews/${open.id}`).set(admin).expect(200)).body).toMatchObject({
      status: 'assigned',
      cancelledAt: null,
    });
  });

  it.each(['accepted', 'rejected', 'cancelled'] as const)(
    'refuses to cancel a review that is %s with 409 INVALID_TRANSITION, changing nothing',
    async (status) => {
      const owner = await createEngineer(t);
      const review = await reviewIn(t, status, owner);
      const res = await t.http.post(`/api/v1/reviews/${review.id}/cancel`).set(admin).send({ reason: 'Too late' });
      expect([res.status, res.body.code]).toEqual([409, 'INVALID_TRANSITION']);
      expect((await t.http.get(`/api/v1/reviews/${review.id}`).set(admin).expect(200)).body).toEqual(review);
      expect((await engineer(owner.id)).currentReviewCount).toBe(0);
    },
  );

  it('drain answers the engineer after the moves, each move, and the reviews nobody could take', async () => {
    const tag = `drain-${Date.now()}`;
    const drained = await createEngineer(t, { maxConcurrentReviews: 3 });
    const taker = await createEngineer(t, { expertise: [tag], maxConcurrentReviews: 1 });
    const oldest = await assignReview(t, (await createIncident(t, { requiredExpertise: [tag] })).id, drained.id);
    const newest = await assignReview(t, (await createIncident(t, { requiredExpertise: [tag] })).id, drained.id);

    const res = await t.http.post(`/api/v1/engineers/${drained.id}/drain`).set(admin).send({ status: 'on_leave', reason: 'Holiday' });
    expect(res.status).toBe(200);
    const body = res.body as DrainResult;
    expect(body.engineer).toEqual(await engineer(drained.id));
    expect(body.engineer).toMatchObject({ id: drained.id, status: 'on_leave', currentReviewCount: 1, isAvailable: false });
    expect(body.reassigned).toEqual([{ fromReviewId: oldest.id, toReviewId: expect.any(String), engineerId: taker.id }]);
    expect(body.notReassigned).toEqual([newest.id]);
    const moved = (await t.http.get(`/api/v1/reviews/${body.reassigned[0]!.toReviewId}`).set(admin).expect(200)).body;
    expect(moved).toMatchObject({ engineerId: taker.id, incidentId: oldest.incidentId, reassignedFromId: oldest.id, status: 'assigned' });
    expect((await t.http.get(`/api/v1/reviews/${oldest.id}`).set(admin).expect(200)).body).toMatchObject({
      status: 'cancelled',
      cancellationReason: 'Holiday',
    });
  });

  it('refuses a priority outside low, normal, high, critical with 400 VALIDATION_FAILED naming the field', async () => {
    const incident = await createIncident(t);
    const engineerId = (await createEngineer(t)).id;
    const refusals = [
      await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId, priority: 'urgent' }),
      await t.http.post('/api/v1/reviews/auto-assign').set(admin).send({ incidentId: incident.id, priority: 'HIGH' }),
      await t.http.get('/api/v1/reviews').query({ priority: 'urgent' }).set(admin),
    ];
    for (const res of refusals) {
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'priority' })]);
    }
    expect((await t.http.get(`/api/v1/incidents/${incident.id}`).set(admin).expect(200)).body.reviews).toEqual([]);
  });
});
