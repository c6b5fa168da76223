import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { auditOf } from '../support/audit.js';
import { assignReview, createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, serviceToken, startTestApp, type TestApp } from '../support/test-app.js';

const admin = bearer(adminToken());
const ENGINEERS = '/api/v1/engineers';

/** An open (`assigned`) review of a new incident for the engineer, assigned through the API. */
async function openReviewFor(t: TestApp, engineerId: string): Promise<string> {
  return (await assignReview(t, (await createIncident(t)).id, engineerId)).id;
}

/** A tag no other test uses, so that list and ranking assertions see only their own engineers. */
const uniqueTag = (): string => `tag-${randomUUID().slice(0, 8)}`;

describe('Engineers API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  describe('POST /engineers', () => {
    it('creates an engineer with defaults, lower-cased email and de-duplicated tags, and audits it', async () => {
      const email = `Grace.${randomUUID()}@Example.COM`;
      const res = await t.http
        .post(ENGINEERS)
        .set(admin)
        .send({ name: '  Grace Hopper  ', email: `  ${email} `, expertise: [' Postgres', 'postgres', 'KAFKA '] });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'Grace Hopper',
        email: email.toLowerCase(),
        expertise: ['postgres', 'kafka'],
        status: 'active',
        isAvailable: true,
        maxConcurrentReviews: 3,
        currentReviewCount: 0,
        lastAssignedAt: null,
        deletedAt: null,
        createdAt: expect.stringMatching(/Z$/),
        updatedAt: expect.stringMatching(/Z$/),
      });
      const audit = await auditOf(t, res.body.id);
      expect(audit).toEqual([{ action: 'engineer.created', actor_sub: 'admin-1', before: null, after: res.body }]);
    });

    it('accepts every optional field', async () => {
      const res = await t.http
        .post(ENGINEERS)
        .set(admin)
        .send({ name: 'Linus', email: `linus-${randomUUID()}@example.com`, expertise: [], maxConcurrentReviews: 50, status: 'on_leave' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ expertise: [], maxConcurrentReviews: 50, status: 'on_leave', isAvailable: false });
    });

    const valid = (): Record<string, unknown> => ({ name: 'Valid Name', email: `v-${randomUUID()}@example.com` });
    const invalidBodies: [string, Record<string, unknown>, string][] = [
      ['missing name', { name: undefined }, 'name'],
      ['blank name after trimming', { name: '   ' }, 'name'],
      ['name over 200 chars', { name: 'x'.repeat(201) }, 'name'],
      ['name as a number', { name: 42 }, 'name'],
      ['null name', { name: null }, 'name'],
      ['missing email', { email: undefined }, 'email'],
      ['email without @', { email: 'not-an-email' }, 'email'],
      ['null email', { email: null }, 'email'],
      ['expertise not an array', { expertise: 'postgres' }, 'expertise'],
      ['null expertise', { expertise: null }, 'expertise'],
      ['empty tag', { expertise: ['ok', '  '] }, 'expertise.1'],
      ['tag over 64 chars', { expertise: ['ok', 'fine', 'y'.repeat(65)] }, 'expertise.2'],
      ['tag not a string', { expertise: [3] }, 'expertise.0'],
      ['51 tags', { expertise: Array.from({ length: 51 }, (_, i) => `t${i}`) }, 'expertise'],
      ['maxConcurrentReviews as a string', { maxConcurrentReviews: '3' }, 'maxConcurrentReviews'],
      ['maxConcurrentReviews 0', { maxConcurrentReviews: 0 }, 'maxConcurrentReviews'],
      ['maxConcurrentReviews 51', { maxConcurrentReviews: 51 }, 'maxConcurrentReviews'],
      ['maxConcurrentReviews 1.5', { maxConcurrentReviews: 1.5 }, 'maxConcurrentReviews'],
      ['null maxConcurrentReviews', { maxConcurrentReviews: null }, 'maxConcurrentReviews'],
      ['unknown status', { status: 'busy' }, 'status'],
      ['null status', { status: null }, 'status'],
      ['isAvailable is never written', { isAvailable: true }, 'isAvailable'],
      ['currentReviewCount is never written', { currentReviewCount: 0 }, 'currentReviewCount'],
      ['deletedAt is not a field', { deletedAt: null }, 'deletedAt'],
      ['unknown field', { nickname: 'x' }, 'nickname'],
    ];
    it.each(invalidBodies)('rejects %s with 400 naming the field', async (_case, patch, field) => {
      const res = await t.http
        .post(ENGINEERS)
        .set(admin)
        .send({ ...valid(), ...patch });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('accepts a 200-char name after trimming and stores nothing for a refused body', async () => {
      const before = await t.sql.query('SELECT count(*)::int AS n FROM engineers');
      const refused = await t.http
        .post(ENGINEERS)
        .set(admin)
        .send({ name: 'x', email: `r-${randomUUID()}@example.com`, isAvailable: false });
      expect(refused.status).toBe(400);
      expect((await t.sql.query('SELECT count(*)::int AS n FROM engineers')).rows[0].n).toBe(before.rows[0].n);
      const padded = await t.http
        .post(ENGINEERS)
        .set(admin)
        .send({ name: `  ${'n'.repeat(200)}  `, email: `p-${randomUUID()}@example.com` });
      expect(padded.status).toBe(201);
    });

    it('refuses an email that another engineer has, in any case, deleted engineers included', async () => {
      const email = `dup-${randomUUID()}@example.com`;
      const first = await createEngineer(t, { email });
      const again = await t.http.post(ENGINEERS).set(admin).send({ name: 'Other', email: email.toUpperCase() });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('EMAIL_TAKEN');
      await t.http.delete(`${ENGINEERS}/${first.id}`).set(admin).expect(204);
      const afterDelete = await t.http.post(ENGINEERS).set(admin).send({ name: 'Other', email });
      expect(afterDelete.status).toBe(409);
      expect(afterDelete.body.code).toBe('EMAIL_TAKEN');
    });

    it.each([2, 20])('lets exactly one of %i concurrent creates with the same email win (the unique index decides)', async (parallel) => {
      const email = `race-${randomUUID()}@example.com`;
      const responses = await Promise.all(
        Array.from({ length: parallel }, (_, i) =>
          fetch(`${t.baseUrl}${ENGINEERS}`, {
            method: 'POST',
            headers: { ...admin, 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: `Racer ${i}`, email }),
          }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> })),
        ),
      );
      const statuses = responses.map((res) => res.status).sort();
      expect(statuses).toEqual([201, ...Array<number>(parallel - 1).fill(409)]);
      expect(responses.filter((res) => res.status === 409).every((res) => res.body.code === 'EMAIL_TAKEN')).toBe(true);
      const stored = await t.sql.query('SELECT id FROM engineers WHERE email = $1', [email]);
      expect(stored.rowCount).toBe(1);
      const audits = await t.sql.query(`SELECT 1 FROM audit_entries WHERE entity_id = $1`, [stored.rows[0].id]);
      expect(audits.rowCount).toBe(1);
    });

    it('is for admins only', async () => {
      const body = { name: 'Nobody', email: `n-${randomUUID()}@example.com` };
      expect((await t.http.post(ENGINEERS).send(body)).status).toBe(401);
      expect((await t.http.post(ENGINEERS).set(bearer(serviceToken())).send(body)).status).toBe(403);
      const self = await createEngineer(t);
      const asEngineer = await t.http
        .post(ENGINEERS)
        .set(bearer(engineerToken(self.id)))
        .send(body);
      expect(asEngineer.status).toBe(403);
      expect(asEngineer.body.code).toBe('FORBIDDEN');
    });
  });

  describe('GET /engineers/{id} and /engineers/me', () => {
    it('shows any engineer to admins and only their own record to an engineer', async () => {
      const ada = await createEngineer(t);
      const bob = await createEngineer(t);
      expect((await t.http.get(`${ENGINEERS}/${ada.id}`).set(admin).expect(200)).body).toEqual(ada);
      expect(
        (
          await t.http
            .get(`${ENGINEERS}/${ada.id}`)
            .set(bearer(engineerToken(ada.id)))
            .expect(200)
        ).body,
      ).toEqual(ada);
      const other = await t.http.get(`${ENGINEERS}/${bob.id}`).set(bearer(engineerToken(ada.id)));
      expect(other.status).toBe(404);
      expect(other.body.code).toBe('NOT_FOUND');
      expect((await t.http.get(`${ENGINEERS}/${ada.id}`).set(bearer(serviceToken()))).status).toBe(403);
      expect(
        (
          await t.http
            .get(`${ENGINEERS}/me`)
            .set(bearer(engineerToken(ada.id)))
            .expect(200)
        ).body,
      ).toEqual(ada);
      expect((await t.http.get(`${ENGINEERS}/me`).set(admin)).status).toBe(403);
      expect((await t.http.get(`${ENGINEERS}/me`).set(bearer(serviceToken()))).status).toBe(403);
      expect((await t.http.get(`${ENGINEERS}/me`).set(bearer(engineerToken(randomUUID())))).status).toBe(404);
    });

    it('answers 400 on a malformed id and 404 on an unknown one', async () => {
      const bad = await t.http.get(`${ENGINEERS}/not-a-uuid`).set(admin);
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'id' })]);
      const unknown = await t.http.get(`${ENGINEERS}/${randomUUID()}`).set(admin);
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('NOT_FOUND');
    });
  });

  describe('PATCH /engineers/{id}', () => {
    it('changes the given fields, keeps isAvailable right and writes one audit entry with both snapshots', async () => {
      const engineer = await createEngineer(t, { expertise: ['go'] });
      const res = await t.http
        .patch(`${ENGINEERS}/${engineer.id}`)
        .set(admin)
        .send({ name: ' Ada King ', expertise: ['Rust', 'rust', 'go'], maxConcurrentReviews: 7, status: 'on_leave' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ...engineer,
        name: 'Ada King',
        expertise: ['rust', 'go'],
        maxConcurrentReviews: 7,
        status: 'on_leave',
        isAvailable: false,
        updatedAt: expect.any(String),
      });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(engineer.updatedAt));
      const back = await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(admin).send({ status: 'active' }).expect(200);
      expect(back.body.isAvailable).toBe(true);
      const audit = await auditOf(t, engineer.id);
      expect(audit.map((entry) => entry.action)).toEqual(['engineer.created', 'engineer.updated', 'engineer.updated']);
      expect(audit[1]).toMatchObject({ before: engineer, after: res.body });
      expect(audit[2]).toMatchObject({ before: res.body, after: back.body });
    });

    it('answers a request that changes nothing with the engineer as it is, without an audit entry', async () => {
      const engineer = await createEngineer(t, { expertise: ['go'] });
      const same = await t.http
        .patch(`${ENGINEERS}/${engineer.id}`)
        .set(admin)
        .send({ name: engineer.name, expertise: ['GO'] });
      expect(same.status).toBe(200);
      expect(same.body).toEqual(engineer);
      expect(await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(admin).send({}).expect(200)).toHaveProperty('body', engineer);
      expect((await auditOf(t, engineer.id)).map((entry) => entry.action)).toEqual(['engineer.created']);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['isAvailable', { isAvailable: true }, 'isAvailable'],
      ['currentReviewCount', { currentReviewCount: 0 }, 'currentReviewCount'],
      ['email (not changeable)', { email: 'new@example.com' }, 'email'],
      ['lastAssignedAt', { lastAssignedAt: null }, 'lastAssignedAt'],
      ['null name', { name: null }, 'name'],
      ['null expertise', { expertise: null }, 'expertise'],
      ['null status', { status: null }, 'status'],
      ['null maxConcurrentReviews', { maxConcurrentReviews: null }, 'maxConcurrentReviews'],
      ['a boolean as a string', { maxConcurrentReviews: true }, 'maxConcurrentReviews'],
      ['blank name', { name: ' ' }, 'name'],
    ])('refuses %s with 400', async (_case, body, field) => {
      const engineer = await createEngineer(t);
      const res = await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(admin).send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect((await t.http.get(`${ENGINEERS}/${engineer.id}`).set(admin)).body).toEqual(engineer);
    });

    it('answers 400 before 404, and 404 for an unknown engineer', async () => {
      expect((await t.http.patch(`${ENGINEERS}/${randomUUID()}`).set(admin).send({ status: 'nope' })).status).toBe(400);
      expect((await t.http.patch(`${ENGINEERS}/${randomUUID()}`).set(admin).send({ status: 'offline' })).status).toBe(404);
      expect((await t.http.patch(`${ENGINEERS}/xyz`).set(admin).send({ status: 'offline' })).body.errors).toEqual([
        expect.objectContaining({ field: 'id' }),
      ]);
    });

    it('refuses to lower maxConcurrentReviews below the open review count', async () => {
      const engineer = await createEngineer(t, { maxConcurrentReviews: 3 });
      await openReviewFor(t, engineer.id);
      await openReviewFor(t, engineer.id);
      const res = await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(admin).send({ maxConcurrentReviews: 1 });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('CAPACITY_BELOW_OPEN_REVIEWS');
      const atCount = await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(admin).send({ maxConcurrentReviews: 2 }).expect(200);
      expect(atCount.body).toMatchObject({ maxConcurrentReviews: 2, currentReviewCount: 2, isAvailable: false });
    });

    it('decides the capacity check under the row lock: it waits for an assignment in flight and sees its count', async () => {
      const engineer = await createEngineer(t, { maxConcurrentReviews: 3 });
      const client = await t.sql.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT 1 FROM engineers WHERE id = $1 FOR UPDATE', [engineer.id]);
        await client.query('UPDATE engineers SET current_review_count = current_review_count + 1 WHERE id = $1', [engineer.id]);
        const patch = t.http
          .patch(`${ENGINEERS}/${engineer.id}`)
          .set(admin)
          .send({ maxConcurrentReviews: 1 })
          .then((res) => res);
        await waitForLockWaiter(t, engineer.id);
        await client.query('UPDATE engineers SET current_review_count = current_review_count + 1 WHERE id = $1', [engineer.id]);
        await client.query('COMMIT');
        const res = await patch;
        expect(res.status).toBe(409);
        expect(res.body.code).toBe('CAPACITY_BELOW_OPEN_REVIEWS');
      } finally {
        client.release();
      }
    });

    it('never lets counter and capacity cross when capacity changes race real assignments', async () => {
      const send = (method: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> =>
        fetch(`${t.baseUrl}${path}`, {
          method,
          headers: { ...admin, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
      const patchAnswers: { status: number; body: Record<string, unknown> }[] = [];
      for (let round = 0; round < 6; round += 1) {
        // Two reviews already open, so lowering the capacity to 1 is refused whatever the timing.
        const engineer = await createEngineer(t, { maxConcurrentReviews: 4 });
        for (let i = 0; i < 2; i += 1) {
          const incident = await createIncident(t);
          await t.http.post('/api/v1/reviews').set(admin).send({ incidentId: incident.id, engineerId: engineer.id }).expect(201);
        }
        const incidents = await Promise.all(Array.from({ length: 4 }, () => createIncident(t)));
        const patches = [1, 2, 3, 1, 2].map((max) =>
          send('PATCH', `${ENGINEERS}/${engineer.id}`, { maxConcurrentReviews: max + (round % 2) }),
        );
        const assignments = incidents.map((incident) =>
          send('POST', '/api/v1/reviews', { incidentId: incident.id, engineerId: engineer.id }),
        );
        const [patched, assigned] = await Promise.all([Promise.all(patches), Promise.all(assignments)]);
        patchAnswers.push(...patched);
        for (const answer of assigned) {
          if (answer.status !== 201) expect(answer).toMatchObject({ status: 409, body: { code: 'ENGINEER_AT_CAPACITY' } });
        }
        const { rows } = await t.sql.query(
          `SELECT e.current_review_count AS count, e.max_concurrent_reviews AS max,
             (SELECT count(*)::int FROM reviews r WHERE r.engineer_id = e.id AND r.status IN ('assigned', 'in_progress', 'submitted')) AS open
           FROM engineers e WHERE e.id = $1`,
          [engineer.id],
        );
        expect(rows[0].count).toBeLessThanOrEqual(rows[0].max);
        expect(rows[0].count).toBe(rows[0].open);
        expect(rows[0].count).toBe(2 + assigned.filter((answer) => answer.status === 201).length);
      }
      expect(patchAnswers).toHaveLength(30);
      for (const answer of patchAnswers) {
        if (answer.status === 200) {
          expect(answer.body.currentReviewCount as number).toBeLessThanOrEqual(answer.body.maxConcurrentReviews as number);
        } else {
          expect(answer).toMatchObject({ status: 409, body: { code: 'CAPACITY_BELOW_OPEN_REVIEWS' } });
        }
      }
      expect(patchAnswers.some((answer) => answer.status === 409)).toBe(true);
    });

    it('is for admins only', async () => {
      const engineer = await createEngineer(t);
      expect(
        (
          await t.http
            .patch(`${ENGINEERS}/${engineer.id}`)
            .set(bearer(engineerToken(engineer.id)))
            .send({ name: 'Me' })
        ).status,
      ).toBe(403);
      expect((await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(bearer(serviceToken())).send({ name: 'Me' })).status).toBe(403);
    });
  });

  describe('DELETE /engineers/{id}', () => {
    it('soft-deletes: kept and readable with deletedAt, offline, hidden from lists unless asked, one audit entry', async () => {
      const tag = uniqueTag();
      const engineer = await createEngineer(t, { expertise: [tag] });
      await t.http.delete(`${ENGINEERS}/${engineer.id}`).set(admin).expect(204);
      const deleted = (await t.http.get(`${ENGINEERS}/${engineer.id}`).set(admin).expect(200)).body;
      expect(deleted).toEqual({
        ...engineer,
        status: 'offline',
        isAvailable: false,
        deletedAt: expect.stringMatching(/Z$/),
        updatedAt: expect.any(String),
      });
      expect((await t.http.get(ENGINEERS).query({ expertise: tag }).set(admin)).body.total).toBe(0);
      const withDeleted = await t.http.get(ENGINEERS).query({ expertise: tag, includeDeleted: 'true' }).set(admin);
      expect(withDeleted.body.items).toEqual([deleted]);
      expect((await t.http.get(`${ENGINEERS}/available`).query({ expertise: tag }).set(admin)).body).toEqual([]);
      expect((await t.http.get(`${ENGINEERS}/${engineer.id}`).set(bearer(engineerToken(engineer.id)))).status).toBe(404);
      expect((await t.http.get(`${ENGINEERS}/me`).set(bearer(engineerToken(engineer.id)))).status).toBe(404);
      const audit = await auditOf(t, engineer.id);
      expect(audit.map((entry) => entry.action)).toEqual(['engineer.created', 'engineer.deleted']);
      expect(audit[1]).toMatchObject({ before: engineer, after: deleted });
    });

    it('answers 204 again for a deleted engineer and changes nothing', async () => {
      const engineer = await createEngineer(t);
      await t.http.delete(`${ENGINEERS}/${engineer.id}`).set(admin).expect(204);
      const once = (await t.http.get(`${ENGINEERS}/${engineer.id}`).set(admin)).body;
      await t.http.delete(`${ENGINEERS}/${engineer.id}`).set(admin).expect(204);
      expect((await t.http.get(`${ENGINEERS}/${engineer.id}`).set(admin)).body).toEqual(once);
      expect((await auditOf(t, engineer.id)).filter((entry) => entry.action === 'engineer.deleted')).toHaveLength(1);
    });

    it('refuses to update a deleted engineer', async () => {
      const engineer = await createEngineer(t);
      await t.http.delete(`${ENGINEERS}/${engineer.id}`).set(admin).expect(204);
      const res = await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(admin).send({ status: 'active' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('ENGINEER_DELETED');
      expect((await t.http.patch(`${ENGINEERS}/${engineer.id}`).set(admin).send({ status: 'bogus' })).status).toBe(400);
    });

    it('refuses to delete an engineer with open reviews', async () => {
      const engineer = await createEngineer(t);
      await openReviewFor(t, engineer.id);
      const res = await t.http.delete(`${ENGINEERS}/${engineer.id}`).set(admin);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('ENGINEER_HAS_OPEN_REVIEWS');
      const still = (await t.http.get(`${ENGINEERS}/${engineer.id}`).set(admin)).body;
      expect(still).toMatchObject({ deletedAt: null, status: 'active', currentReviewCount: 1 });
      expect((await auditOf(t, engineer.id)).map((entry) => entry.action)).toEqual(['engineer.created']);
    });

    it('deletes an engineer whose reviews are all final (history stays)', async () => {
      const engineer = await createEngineer(t);
      const reviewId = await openReviewFor(t, engineer.id);
      await t.http.post(`/api/v1/reviews/${reviewId}/cancel`).set(admin).send({ reason: 'Not needed' }).expect(200);
      await t.http.delete(`${ENGINEERS}/${engineer.id}`).set(admin).expect(204);
      expect((await t.sql.query('SELECT 1 FROM reviews WHERE engineer_id = $1', [engineer.id])).rowCount).toBe(1);
    });

    it('answers 404 for an unknown engineer, 400 for a malformed id, 403 for non-admins', async () => {
      expect((await t.http.delete(`${ENGINEERS}/${randomUUID()}`).set(admin)).status).toBe(404);
      const bad = await t.http.delete(`${ENGINEERS}/123`).set(admin);
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'id' })]);
      expect((await t.http.delete(`${ENGINEERS}/${randomUUID()}`).set(bearer(serviceToken()))).status).toBe(403);
    });
  });

  describe('GET /engineers', () => {
    it('pages with the contract arithmetic: empty is page 1 of 1, past the end is clamped', async () => {
      const empty = await t.http.get(ENGINEERS).query({ expertise: uniqueTag(), page: '5' }).set(admin).expect(200);
      expect(empty.body).toEqual({ items: [], total: 0, page: 1, pageSize: 20, totalPages: 1 });
      const tag = uniqueTag();
      const created = [];
      for (let i = 0; i < 5; i += 1) created.push(await createEngineer(t, { expertise: [tag] }));
      const second = await t.http.get(ENGINEERS).query({ expertise: tag, page: '2', pageSize: '2' }).set(admin).expect(200);
      expect(second.body).toEqual({ items: created.slice(2, 4), total: 5, page: 2, pageSize: 2, totalPages: 3 });
      const clamped = await t.http.get(ENGINEERS).query({ expertise: tag, page: '99', pageSize: '2' }).set(admin).expect(200);
      expect(clamped.body).toEqual({ items: created.slice(4), total: 5, page: 3, pageSize: 2, totalPages: 3 });
      const all = await t.http.get(ENGINEERS).query({ expertise: tag, pageSize: '100' }).set(admin).expect(200);
      expect(all.body.items).toEqual(created);
    });

    it.each<[string, Record<string, string>, string]>([
      ['pageSize 0', { pageSize: '0' }, 'pageSize'],
      ['pageSize 101', { pageSize: '101' }, 'pageSize'],
      ['pageSize abc', { pageSize: 'abc' }, 'pageSize'],
      ['pageSize 1.5', { pageSize: '1.5' }, 'pageSize'],
      ['empty pageSize', { pageSize: '' }, 'pageSize'],
      ['pageSize +1', { pageSize: '+1' }, 'pageSize'],
      ['page 0', { page: '0' }, 'page'],
      ['page -1', { page: '-1' }, 'page'],
      ['available yes', { available: 'yes' }, 'available'],
      ['available TRUE', { available: 'TRUE' }, 'available'],
      ['includeDeleted 1', { includeDeleted: '1' }, 'includeDeleted'],
      ['unknown status', { status: 'sleeping' }, 'status'],
      ['empty expertise', { expertise: '' }, 'expertise'],
      ['unknown parameter', { sort: 'name' }, 'sort'],
    ])('refuses %s with 400', async (_case, query, field) => {
      const res = await t.http.get(ENGINEERS).query(query).set(admin);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('refuses a repeated page parameter', async () => {
      const res = await t.http.get(`${ENGINEERS}?page=1&page=2`).set(admin);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'page' })]));
    });

    it('orders by createdAt then id, so pages are stable when createdAt ties', async () => {
      const tag = uniqueTag();
      const ids = Array.from({ length: 7 }, () => randomUUID());
      for (const [i, id] of ids.entries()) {
        await t.sql.query(
          `INSERT INTO engineers (id, name, email, expertise, created_at, updated_at)
           VALUES ($1, $2, $3, ARRAY[$4], '2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z')`,
          [id, `Tied ${i}`, `tied-${id}@example.com`, tag],
        );
      }
      const seen: string[] = [];
      for (let page = 1; page <= 3; page += 1) {
        const res = await t.http
          .get(ENGINEERS)
          .query({ expertise: tag, page: String(page), pageSize: '3' })
          .set(admin)
          .expect(200);
        seen.push(...res.body.items.map((item: { id: string }) => item.id));
      }
      expect(seen).toEqual([...ids].sort());
    });

    it('filters by status, availability, expertise and deletion', async () => {
      const tag = uniqueTag();
      const active = await createEngineer(t, { expertise: [tag, 'go'] });
      const onLeave = await createEngineer(t, { expertise: [tag], status: 'on_leave' });
      const full = await createEngineer(t, { expertise: [tag], maxConcurrentReviews: 1 });
      await openReviewFor(t, full.id);
      const gone = await createEngineer(t, { expertise: [tag] });
      await t.http.delete(`${ENGINEERS}/${gone.id}`).set(admin).expect(204);
      const ids = async (query: Record<string, string>): Promise<string[]> =>
        (
          await t.http
            .get(ENGINEERS)
            .query({ expertise: tag, ...query })
            .set(admin)
            .expect(200)
        ).body.items.map((item: { id: string }) => item.id);
      expect(await ids({})).toEqual([active.id, onLeave.id, full.id]);
      expect(await ids({ includeDeleted: 'true' })).toEqual([active.id, onLeave.id, full.id, gone.id]);
      expect(await ids({ includeDeleted: 'false' })).toEqual([active.id, onLeave.id, full.id]);
      expect(await ids({ available: 'true' })).toEqual([active.id]);
      expect(await ids({ available: 'false' })).toEqual([onLeave.id, full.id]);
      expect(await ids({ status: 'on_leave' })).toEqual([onLeave.id]);
      expect(await ids({ status: 'offline', includeDeleted: 'true' })).toEqual([gone.id]);
      const byTwoTags = await t.http.get(ENGINEERS).query({ expertise: ' GO ', pageSize: '100' }).set(admin).expect(200);
      expect(byTwoTags.body.items.map((item: { id: string }) => item.id)).toContain(active.id);
    });

    it('lets the expertise filter use the GIN index', async () => {
      const client = await t.sql.connect();
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL enable_seqscan = off');
        const { rows } = await client.query(
          `EXPLAIN SELECT id FROM engineers e WHERE e.deleted_at IS NULL AND e.expertise @> ARRAY[$1]::text[]`,
          ['postgres'],
        );
        expect(rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n')).toContain('engineers_expertise_gin');
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    });

    it('is for admins only', async () => {
      const engineer = await createEngineer(t);
      expect((await t.http.get(ENGINEERS).set(bearer(engineerToken(engineer.id)))).status).toBe(403);
      expect((await t.http.get(ENGINEERS).set(bearer(serviceToken()))).status).toBe(403);
      expect((await t.http.get(ENGINEERS)).status).toBe(401);
    });
  });

  describe('GET /engineers/available', () => {
    it('ranks eligible engineers by load ratio, then lastAssignedAt (never first), then id', async () => {
      const tag = uniqueTag();
      const ids = Array.from({ length: 8 }, () => randomUUID()).sort();
      // [count, max, lastAssignedAt] per engineer; 2/6 and 1/3 are the same ratio, so lastAssignedAt and then id decide.
      const rows: [number, number, string | null][] = [
        [1, 2, '2030-01-01T00:00:00Z'],
        [0, 3, '2030-01-01T00:00:00Z'],
        [0, 3, null],
        [2, 6, '2029-01-01T00:00:00Z'],
        [0, 5, '2030-01-01T00:00:00Z'],
        [2, 2, null],
        [1, 3, '2029-01-01T00:00:00Z'],
        [1, 3, '2028-01-01T00:00:00Z'],
      ];
      for (const [i, [count, max, last]] of rows.entries()) {
        await t.sql.query(
          `INSERT INTO engineers (id, name, email, expertise, current_review_count, max_concurrent_reviews, last_assigned_at)
           VALUES ($1, $2, $3, ARRAY[$4, 'shared'], $5, $6, $7)`,
          [ids[i], `Ranked ${i}`, `ranked-${ids[i]}@example.com`, tag, count, max, last],
        );
      }
      const res = await t.http.get(`${ENGINEERS}/available`).query({ expertise: tag }).set(admin).expect(200);
      expect(res.body.map((engineer: { id: string }) => engineer.id)).toEqual([ids[2], ids[1], ids[4], ids[7], ids[3], ids[6], ids[0]]);
      expect(res.body.every((engineer: { isAvailable: boolean }) => engineer.isAvailable)).toBe(true);
      const limited = await t.http.get(`${ENGINEERS}/available`).query({ expertise: tag, limit: '2' }).set(admin).expect(200);
      expect(limited.body.map((engineer: { id: string }) => engineer.id)).toEqual([ids[2], ids[1]]);
    });

    it('requires every requested tag and leaves out deleted, inactive and full engineers', async () => {
      const tag = uniqueTag();
      const both = await createEngineer(t, { expertise: [tag, 'kafka'] });
      await createEngineer(t, { expertise: [tag] });
      await createEngineer(t, { expertise: [tag, 'kafka'], status: 'offline' });
      const deleted = await createEngineer(t, { expertise: [tag, 'kafka'] });
      await t.http.delete(`${ENGINEERS}/${deleted.id}`).set(admin).expect(204);
      const full = await createEngineer(t, { expertise: [tag, 'kafka'], maxConcurrentReviews: 1 });
      await openReviewFor(t, full.id);
      const res = await t.http.get(`${ENGINEERS}/available?expertise=${tag}&expertise=KAFKA`).set(admin).expect(200);
      expect(res.body).toEqual([both]);
      const one = await t.http.get(`${ENGINEERS}/available`).query({ expertise: tag }).set(admin).expect(200);
      expect(one.body).toHaveLength(2);
    });

    it('lists at most 10 by default', async () => {
      const tag = uniqueTag();
      for (let i = 0; i < 11; i += 1) {
        await t.sql.query(`INSERT INTO engineers (id, name, email, expertise) VALUES (gen_random_uuid(), 'Many', $1, ARRAY[$2])`, [
          `many-${randomUUID()}@example.com`,
          tag,
        ]);
      }
      expect((await t.http.get(`${ENGINEERS}/available`).query({ expertise: tag }).set(admin).expect(200)).body).toHaveLength(10);
    });

    it.each<[string, string, string]>([
      ['limit 0', 'limit=0', 'limit'],
      ['limit 101', 'limit=101', 'limit'],
      ['limit abc', 'limit=abc', 'limit'],
      ['empty limit', 'limit=', 'limit'],
      ['empty tag', 'expertise=ok&expertise=', 'expertise.1'],
      ['unknown parameter', 'page=1', 'page'],
    ])('refuses %s with 400', async (_case, query, field) => {
      const res = await t.http.get(`${ENGINEERS}/available?${query}`).set(admin);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('is for admins only', async () => {
      expect((await t.http.get(`${ENGINEERS}/available`).set(bearer(serviceToken()))).status).toBe(403);
    });
  });

  it('describes every engineers endpoint in the OpenAPI document', async () => {
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    const create = doc.paths['/api/v1/engineers'].post;
    expect(create.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/CreateEngineerDto');
    expect(create.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/EngineerView');
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['400', '401', '403', '409']));
    expect(create.responses['409'].description).toContain('EMAIL_TAKEN');
    const list = doc.paths['/api/v1/engineers'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(
      expect.arrayContaining(['page', 'pageSize', 'status', 'available', 'expertise', 'includeDeleted']),
    );
    const patch = doc.paths['/api/v1/engineers/{id}'].patch;
    expect(patch.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/UpdateEngineerDto');
    expect(patch.responses['409'].description).toContain('CAPACITY_BELOW_OPEN_REVIEWS');
    expect(patch.responses['409'].description).toContain('ENGINEER_DELETED');
    expect(doc.paths['/api/v1/engineers/{id}'].delete.responses['409'].description).toContain('ENGINEER_HAS_OPEN_REVIEWS');
    expect(doc.paths['/api/v1/engineers/available'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(
      expect.arrayContaining(['expertise', 'limit']),
    );
    const view = doc.components.schemas.EngineerView;
    expect(Object.keys(view.properties).sort()).toEqual(
      [
        'id',
        'name',
        'email',
        'expertise',
        'status',
        'isAvailable',
        'maxConcurrentReviews',
        'currentReviewCount',
        'lastAssignedAt',
        'deletedAt',
        'createdAt',
        'updatedAt',
      ].sort(),
    );
    expect(Object.keys(doc.components.schemas.UpdateEngineerDto.properties).sort()).toEqual([
      'expertise',
      'maxConcurrentReviews',
      'name',
      'status',
    ]);
  });
});

describe('Engineers API with ALLOWED_EMAIL_DOMAINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ALLOWED_EMAIL_DOMAINS: 'example.com' });
  });
  afterAll(async () => t.close());

  it('accepts emails of an allowed domain, in any case', async () => {
    const res = await t.http
      .post(ENGINEERS)
      .set(admin)
      .send({ name: 'Allowed', email: `ok-${randomUUID()}@EXAMPLE.com` });
    expect(res.status).toBe(201);
    expect(res.body.email).toMatch(/@example\.com$/);
  });

  it.each(['evil.com', 'sub.example.com', 'example.com.evil.org'])('refuses @%s with 400 EMAIL_DOMAIN_NOT_ALLOWED', async (domain) => {
    const res = await t.http
      .post(ENGINEERS)
      .set(admin)
      .send({ name: 'Refused', email: `no-${randomUUID()}@${domain}` });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('EMAIL_DOMAIN_NOT_ALLOWED');
    expect((await t.sql.query('SELECT 1 FROM engineers WHERE email LIKE $1', [`%@${domain}`])).rowCount).toBe(0);
  });
});

/** Resolves once a session waits for an engineer row lock (the PATCH's SELECT … FOR UPDATE; ids are bind parameters). */
async function waitForLockWaiter(t: TestApp, engineerId: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS waiting FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%FROM engineers%FOR UPDATE%'`,
    );
    if (rows[0].waiting > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`No session started waiting for the lock on engineer ${engineerId}`);
}
