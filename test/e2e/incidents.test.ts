import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { auditOf } from '../support/audit.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { adminToken, bearer, engineerToken, serviceToken, startTestApp, type TestApp } from '../support/test-app.js';

const admin = bearer(adminToken());
const service = bearer(serviceToken());
const INCIDENTS = '/api/v1/incidents';

const setStatus = (t: TestApp, id: string, status: string): Promise<unknown> =>
  t.sql.query('UPDATE incidents SET status = $2::incident_status WHERE id = $1', [id, status]);

describe('Incidents API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  describe('POST /incidents', () => {
    it('creates an incident with defaults and normalised fields, and audits it', async () => {
      const res = await t.http
        .post(INCIDENTS)
        .set(service)
        .send({
          title: '  Disk full  ',
          severity: 'critical',
          aiProposal: ' Rotate logs ',
          requiredExpertise: ['Linux', ' linux', 'Storage'],
        });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        title: 'Disk full',
        description: null,
        severity: 'critical',
        aiProposal: 'Rotate logs',
        requiredExpertise: ['linux', 'storage'],
        externalRef: null,
        status: 'detected',
        chosenApproach: null,
        openReviewId: null,
        createdAt: expect.stringMatching(/Z$/),
        updatedAt: expect.stringMatching(/Z$/),
      });
      expect(await auditOf(t, res.body.id)).toEqual([
        { action: 'incident.created', actor_sub: 'pipeline-1', before: null, after: res.body },
      ]);
    });

    it('accepts null for description and externalRef, meaning absent', async () => {
      const res = await t.http
        .post(INCIDENTS)
        .set(admin)
        .send({ title: 'Null fields', severity: 'low', aiProposal: 'Wait', description: null, externalRef: null });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ description: null, externalRef: null, requiredExpertise: [] });
    });

    it('returns the existing incident, unchanged and with 200, when the externalRef repeats', async () => {
      const externalRef = `alert-${randomUUID()}`;
      const first = await t.http
        .post(INCIDENTS)
        .set(service)
        .send({ title: 'Latency', description: 'p99 up', severity: 'high', aiProposal: 'Scale out', externalRef: ` ${externalRef} ` });
      expect(first.status).toBe(201);
      expect(first.body.externalRef).toBe(externalRef);
      const repeat = await t.http
        .post(INCIDENTS)
        .set(admin)
        .send({ title: 'Other title', severity: 'low', aiProposal: 'Something else', externalRef });
      expect(repeat.status).toBe(200);
      expect(repeat.body).toEqual(first.body);
      expect((await auditOf(t, first.body.id)).map((entry) => entry.action)).toEqual(['incident.created']);
      expect((await t.sql.query('SELECT 1 FROM incidents WHERE external_ref = $1', [externalRef])).rowCount).toBe(1);
    });

    it('replays an Idempotency-Key with the status of the first answer: 200 for an existing externalRef', async () => {
      const externalRef = `replayed-${randomUUID()}`;
      const body = { title: 'Disk', severity: 'high', aiProposal: 'Grow volume', externalRef };
      expect((await t.http.post(INCIDENTS).set(service).send(body)).status).toBe(201);
      const key = `incident-${randomUUID()}`;
      const existing = await t.http.post(INCIDENTS).set(service).set('Idempotency-Key', key).send(body);
      expect(existing.status).toBe(200);
      const replay = await t.http.post(INCIDENTS).set(service).set('Idempotency-Key', key).send(body);
      expect(replay.status).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(existing.body);
    });

    it('creates one incident when the same externalRef arrives many times at once', async () => {
      const externalRef = `burst-${randomUUID()}`;
      const responses = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${t.baseUrl}${INCIDENTS}`, {
            method: 'POST',
            headers: { ...service, 'Content-Type': 'application/json' },
            body: JSON.stringify({ title: 'Burst', severity: 'medium', aiProposal: 'Dedupe', externalRef }),
          }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> })),
        ),
      );
      expect(responses.map((res) => res.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(responses.map((res) => res.body.id)).size).toBe(1);
      expect((await auditOf(t, String(responses[0]!.body.id))).map((entry) => entry.action)).toEqual(['incident.created']);
    });

    const valid = (): Record<string, unknown> => ({ title: 'Valid', severity: 'high', aiProposal: 'Do it' });
    it.each<[string, Record<string, unknown>, string]>([
      ['missing title', { title: undefined }, 'title'],
      ['blank title', { title: '  ' }, 'title'],
      ['title over 300 chars', { title: 't'.repeat(301) }, 'title'],
      ['null title', { title: null }, 'title'],
      ['description over 10 000 chars', { description: 'd'.repeat(10_001) }, 'description'],
      ['description not a string', { description: 5 }, 'description'],
      ['missing severity', { severity: undefined }, 'severity'],
      ['unknown severity', { severity: 'urgent' }, 'severity'],
      ['null severity', { severity: null }, 'severity'],
      ['missing aiProposal', { aiProposal: undefined }, 'aiProposal'],
      ['blank aiProposal', { aiProposal: ' ' }, 'aiProposal'],
      ['aiProposal over 20 000 chars', { aiProposal: 'a'.repeat(20_001) }, 'aiProposal'],
      ['null aiProposal', { aiProposal: null }, 'aiProposal'],
      ['null requiredExpertise', { requiredExpertise: null }, 'requiredExpertise'],
      ['requiredExpertise not an array', { requiredExpertise: 'linux' }, 'requiredExpertise'],
      ['an empty tag', { requiredExpertise: ['linux', ''] }, 'requiredExpertise.1'],
      ['a tag over 64 chars', { requiredExpertise: ['z'.repeat(65)] }, 'requiredExpertise.0'],
      ['51 tags', { requiredExpertise: Array.from({ length: 51 }, (_, i) => `t${i}`) }, 'requiredExpertise'],
      ['blank externalRef', { externalRef: '   ' }, 'externalRef'],
      ['externalRef over 200 chars', { externalRef: 'r'.repeat(201) }, 'externalRef'],
      ['numeric externalRef', { externalRef: 12 }, 'externalRef'],
      ['a status', { status: 'analyzing' }, 'status'],
      ['an openReviewId', { openReviewId: null }, 'openReviewId'],
      ['an unknown field', { priority: 'high' }, 'priority'],
    ])('refuses %s with 400 naming the field', async (_case, patch, field) => {
      const res = await t.http
        .post(INCIDENTS)
        .set(admin)
        .send({ ...valid(), ...patch });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('is for admins and the service role', async () => {
      const engineer = await createEngineer(t);
      const body = valid();
      expect((await t.http.post(INCIDENTS).send(body)).status).toBe(401);
      const asEngineer = await t.http
        .post(INCIDENTS)
        .set(bearer(engineerToken(engineer.id)))
        .send(body);
      expect(asEngineer.status).toBe(403);
      expect(asEngineer.body.code).toBe('FORBIDDEN');
    });
  });

  describe('PATCH /incidents/{id}/status', () => {
    it('moves detected → analyzing and approved → resolved, with one audit entry each', async () => {
      const incident = await createIncident(t);
      const analyzing = await t.http.patch(`${INCIDENTS}/${incident.id}/status`).set(service).send({ status: 'analyzing' });
      expect(analyzing.status).toBe(200);
      expect(analyzing.body).toEqual({ ...incident, status: 'analyzing', updatedAt: expect.any(String) });
      const audit = await auditOf(t, incident.id);
      expect(audit.map((entry) => entry.action)).toEqual(['incident.created', 'incident.status_changed']);
      expect(audit[1]).toMatchObject({ actor_sub: 'pipeline-1', before: incident, after: analyzing.body });

      const approved = await createIncident(t);
      await setStatus(t, approved.id, 'approved');
      const resolved = await t.http.patch(`${INCIDENTS}/${approved.id}/status`).set(admin).send({ status: 'resolved' });
      expect(resolved.status).toBe(200);
      expect(resolved.body.status).toBe('resolved');
      expect((await auditOf(t, approved.id)).at(-1)).toMatchObject({ action: 'incident.status_changed', after: resolved.body });
    });

    it.each<[string, string]>([
      ['analyzing', 'analyzing'],
      ['pending_approval', 'analyzing'],
      ['approved', 'analyzing'],
      ['resolved', 'analyzing'],
      ['detected', 'resolved'],
      ['analyzing', 'resolved'],
      ['pending_approval', 'resolved'],
      ['resolved', 'resolved'],
    ])('refuses %s → %s with 409 INVALID_TRANSITION naming both statuses', async (from, to) => {
      const incident = await createIncident(t);
      await setStatus(t, incident.id, from);
      const res = await t.http.patch(`${INCIDENTS}/${incident.id}/status`).set(admin).send({ status: to });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('INVALID_TRANSITION');
      expect(res.body.detail).toContain(from);
      expect(res.body.detail).toContain(to);
      expect((await auditOf(t, incident.id)).map((entry) => entry.action)).toEqual(['incident.created']);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['detected', { status: 'detected' }, 'status'],
      ['pending_approval', { status: 'pending_approval' }, 'status'],
      ['approved', { status: 'approved' }, 'status'],
      ['an unknown status', { status: 'closed' }, 'status'],
      ['null', { status: null }, 'status'],
      ['no status', {}, 'status'],
      ['an extra field', { status: 'analyzing', chosenApproach: 'ai_approach' }, 'chosenApproach'],
    ])('refuses %s with 400', async (_case, body, field) => {
      const incident = await createIncident(t);
      const res = await t.http.patch(`${INCIDENTS}/${incident.id}/status`).set(admin).send(body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('answers 400 on a malformed id (before looking anything up), 404 on an unknown one', async () => {
      const bad = await t.http.patch(`${INCIDENTS}/nope/status`).set(admin).send({ status: 'analyzing' });
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'id' })]);
      expect((await t.http.patch(`${INCIDENTS}/${randomUUID()}/status`).set(admin).send({ status: 'bogus' })).status).toBe(400);
      const unknown = await t.http.patch(`${INCIDENTS}/${randomUUID()}/status`).set(admin).send({ status: 'analyzing' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('NOT_FOUND');
    });

    it('is for admins and the service role', async () => {
      const incident = await createIncident(t);
      const engineer = await createEngineer(t);
      expect(
        (
          await t.http
            .patch(`${INCIDENTS}/${incident.id}/status`)
            .set(bearer(engineerToken(engineer.id)))
            .send({ status: 'analyzing' })
        ).status,
      ).toBe(403);
      expect((await t.http.patch(`${INCIDENTS}/${incident.id}/status`).send({ status: 'analyzing' })).status).toBe(401);
    });
  });

  describe('GET /incidents', () => {
    it('lists newest first with stable id order on ties, filters by status and severity, and pages', async () => {
      const severity = 'medium';
      const stamp = '2031-06-01T00:00:00Z';
      const ids = Array.from({ length: 5 }, () => randomUUID());
      for (const id of ids) {
        await t.sql.query(
          `INSERT INTO incidents (id, title, severity, ai_proposal, status, created_at, updated_at)
           VALUES ($1, 'Tied', $2, 'Same second', 'resolved', $3, $3)`,
          [id, severity, stamp],
        );
      }
      const later = randomUUID();
      await t.sql.query(
        `INSERT INTO incidents (id, title, severity, ai_proposal, status, created_at, updated_at)
         VALUES ($1, 'Later', $2, 'Newest', 'resolved', '2031-06-02T00:00:00Z', '2031-06-02T00:00:00Z')`,
        [later, severity],
      );
      const expected = [later, ...[...ids].sort().reverse()];
      const seen: string[] = [];
      for (let page = 1; page <= 3; page += 1) {
        const res = await t.http
          .get(INCIDENTS)
          .query({ status: 'resolved', severity, page: String(page), pageSize: '2' })
          .set(service)
          .expect(200);
        expect(res.body).toMatchObject({ total: 6, page, pageSize: 2, totalPages: 3 });
        seen.push(...res.body.items.map((item: { id: string }) => item.id));
      }
      expect(seen).toEqual(expected);
      const clamped = await t.http.get(INCIDENTS).query({ status: 'resolved', severity, page: '10', pageSize: '4' }).set(admin).expect(200);
      expect(clamped.body).toMatchObject({ total: 6, page: 2, totalPages: 2 });
      expect(clamped.body.items.map((item: { id: string }) => item.id)).toEqual(expected.slice(4));
      const other = await t.http.get(INCIDENTS).query({ status: 'resolved', severity: 'low' }).set(admin).expect(200);
      expect(other.body).toEqual({ items: [], total: 0, page: 1, pageSize: 20, totalPages: 1 });
    });

    it('shows what POST created, in the same representation', async () => {
      const incident = await createIncident(t, { severity: 'critical', title: 'Listed' });
      const res = await t.http.get(INCIDENTS).query({ severity: 'critical', status: 'detected', pageSize: '100' }).set(admin).expect(200);
      expect(res.body.items).toContainEqual(incident);
      expect(res.body.items[0]).toEqual(incident);
    });

    it.each<[string, string, string]>([
      ['unknown status', 'status=open', 'status'],
      ['unknown severity', 'severity=urgent', 'severity'],
      ['pageSize 0', 'pageSize=0', 'pageSize'],
      ['pageSize 101', 'pageSize=101', 'pageSize'],
      ['pageSize +1', 'pageSize=%2B1', 'pageSize'],
      ['pageSize 1.5', 'pageSize=1.5', 'pageSize'],
      ['empty page', 'page=', 'page'],
      ['unknown parameter', 'engineerId=x', 'engineerId'],
    ])('refuses %s with 400', async (_case, query, field) => {
      const res = await t.http.get(`${INCIDENTS}?${query}`).set(admin);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('is for admins and the service role', async () => {
      const engineer = await createEngineer(t);
      expect((await t.http.get(INCIDENTS).set(bearer(engineerToken(engineer.id)))).status).toBe(403);
      expect((await t.http.get(INCIDENTS)).status).toBe(401);
    });
  });

  it('describes the incidents endpoints in the OpenAPI document', async () => {
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    const create = doc.paths['/api/v1/incidents'].post;
    expect(create.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/CreateIncidentDto');
    expect(create.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/IncidentView');
    expect(create.responses['200'].description).toContain('externalRef');
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '401', '403']));
    const list = doc.paths['/api/v1/incidents'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(
      expect.arrayContaining(['status', 'severity', 'page', 'pageSize']),
    );
    const patch = doc.paths['/api/v1/incidents/{id}/status'].patch;
    expect(patch.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ChangeIncidentStatusDto');
    expect(doc.components.schemas.ChangeIncidentStatusDto.properties.status.enum).toEqual(['analyzing', 'resolved']);
    expect(patch.responses['409'].description).toContain('INVALID_TRANSITION');
    expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409']));
  });
});
