import path from 'node:path';

import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  type BrowserGlobals,
  CHROMIUM_PATH,
  consoleBuilt,
  type ConsolePage,
  hasChromium,
  launchBrowser,
  openConsole,
  tabTo,
} from '../support/browser.js';
import { createEngineer, createIncident } from '../support/factories.js';
import { type OidcProvider, startOidcProvider } from '../support/oidc-provider.js';
import { adminToken, bearer, engineerToken, startTestApp, type TestApp } from '../support/test-app.js';

const admin = bearer(adminToken());
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === 'true' ? path.join(process.cwd(), 'docs') : null;
const LIVE_WAIT_MS = 12_000;

describe('console sign-in with an identity provider', () => {
  let t: TestApp;
  let idp: OidcProvider;
  let browser: Browser | undefined;
  beforeAll(async () => {
    idp = await startOidcProvider({ sub: 'lead@example.com', roles: ['admin'] });
    t = await startTestApp({ OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.close();
  });

  it('publishes only the issuer and the client id, without a token, and lets the console reach the issuer', async () => {
    const config = await t.http.get('/console/config.json');
    expect(config.status).toBe(200);
    expect(config.body).toEqual({ issuer: idp.issuer, clientId: idp.clientId });
    const csp = config.headers['content-security-policy'];
    expect(csp).toContain(`connect-src 'self' ${new URL(idp.issuer).origin}`);
    expect(csp).toContain("script-src 'self'");
  });

  it.skipIf(!hasChromium)(
    'signs in with the authorization code and PKCE, keeping the token out of localStorage, cookies and the address bar',
    async () => {
      browser = await launchBrowser();
      const context = await browser.newContext({ baseURL: t.baseUrl });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      await page.goto('/console/');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Board' }).waitFor();
      expect(idp.verifiedExchanges).toBe(1);
      expect(await page.locator('header').textContent()).toContain('lead@example.com (admin)');
      expect(page.url()).toBe(`${t.baseUrl}/console/#/`);
      const storage = await page.evaluate(() => {
        const browserStorage = globalThis as unknown as {
          localStorage: { length: number };
          sessionStorage: { getItem(key: string): string | null };
        };
        return { local: browserStorage.localStorage.length, session: browserStorage.sessionStorage.getItem('console.token') };
      });
      expect(storage.local).toBe(0);
      expect(storage.session).toMatch(/^ey/);
      expect(await context.cookies()).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    },
  );
});

if (!hasChromium)
  console.warn(`SKIPPED: the console browser tests need Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH).`);

describe.skipIf(!hasChromium)('console (Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  const open: ConsolePage[] = [];

  beforeAll(async () => {
    if (!consoleBuilt) throw new Error('dist/console is missing: run npm run build (or npm run build:console) first');
    t = await startTestApp();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  afterEach(async () => {
    for (const c of open.splice(0)) {
      expect(c.problems).toEqual([]);
      await c.close();
    }
  });

  async function consoleAs(
    token: string,
    route = '/',
    viewport?: { width: number; height: number },
    expectedFailures: number[] = [],
  ): Promise<ConsolePage> {
    const c = await openConsole(browser, t.baseUrl, token, route, viewport, expectedFailures);
    open.push(c);
    return c;
  }

  async function assign(incidentId: string, engineerId: string, priority = 'normal'): Promise<Record<string, any>> {
    const res = await t.http.post('/api/v1/reviews').set(admin).send({ incidentId, engineerId, priority });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function submitted(
    approach: string,
  ): Promise<{ incident: Record<string, any>; review: Record<string, any>; engineer: Record<string, any> }> {
    const engineer = await createEngineer(t, { name: 'Grace Hopper' });
    const incident = await createIncident(t, {
      title: 'Checkout errors',
      aiProposal: 'Roll back release 42\nFlush the cache\nPage the on-call',
    });
    const review = await assign(incident.id, engineer.id, 'high');
    const res = await t.http
      .post(`/api/v1/reviews/${review.id}/submit`)
      .set(bearer(engineerToken(engineer.id)))
      .send({ approach, analysis: 'The cache is not the cause', confidence: 0.8 });
    expect(res.status).toBe(200);
    return { incident, review, engineer };
  }

  it('serves the console under the service CSP and its public sign-in settings', async () => {
    const page = await t.http.get('/console/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const scripts = [...page.text.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((tag) => !tag.includes(' src='))).toEqual([]);
    const config = await t.http.get('/console/config.json');
    expect(config.status).toBe(200);
    expect(config.body).toEqual({ issuer: null, clientId: null });
  });

  it("an engineer's whole flow: the queue, start, then submit beside the AI proposal", async () => {
    const engineer = await createEngineer(t, { name: 'Katherine Johnson' });
    const urgent = await createIncident(t, {
      title: 'Payments down',
      description: 'Card payments fail with 502 since 14:02 in region A.',
      aiProposal: 'Fail over to region B',
    });
    const routine = await createIncident(t, { title: 'Slow search', aiProposal: 'Rebuild the index' });
    await assign(routine.id, engineer.id, 'low');
    const review = await assign(urgent.id, engineer.id, 'critical');

    const { page } = await consoleAs(engineerToken(engineer.id));
    await expect.poll(() => page.url()).not.toContain('token=');
    const queue = page.getByRole('list', { name: 'Open reviews, most urgent first' });
    await queue.getByRole('link').first().waitFor();
    expect(await queue.getByRole('link').allTextContents()).toEqual(['Payments down', 'Slow search']);
    await expect.poll(() => queue.getByRole('listitem').first().textContent()).toMatch(/left/);

    await page.getByRole('link', { name: 'Payments down' }).click();
    await page.getByRole('button', { name: 'Start review' }).click();
    await page.getByText('in progress').first().waitFor();
    await expect.poll(async () => (await t.http.get(`/api/v1/reviews/${review.id}`).set(admin)).body.status).toBe('in_progress');

    await page.getByRole('button', { name: 'Start from the AI proposal' }).click();
    expect(await page.getByLabel('My approach').inputValue()).toBe('Fail over to region B');
    await page.getByLabel('My approach').fill('Fail over to region B\nThrottle the retry storm first');
    await page.getByLabel('Analysis (optional)').fill('Retries amplify the outage');
    await page.getByLabel('Confidence (optional)').fill('0.7');
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'console-review.png'), fullPage: true });
    await page.getByRole('button', { name: 'Submit review' }).click();
    await page.getByRole('status').filter({ hasText: 'Review submitted' }).waitFor();

    const after = await t.http.get(`/api/v1/reviews/${review.id}`).set(admin);
    expect(after.body).toMatchObject({
      status: 'submitted',
      approach: 'Fail over to region B\nThrottle the retry storm first',
      analysis: 'Retries amplify the outage',
      confidence: 0.7,
    });
  });

  it("an admin's flow: assign to a chosen engineer, decide with the diff, and the audit trail shows it", async () => {
    const expert = await createEngineer(t, { name: 'Barbara Liskov', expertise: ['postgres'], maxConcurrentReviews: 5 });
    const incident = await createIncident(t, {
      title: 'Replica lag',
      requiredExpertise: ['postgres'],
      aiProposal: 'Restart the replica\nRaise wal_keep_size',
    });

    const { page } = await consoleAs(adminToken(), `#/incident/${incident.id}`);
    await page.getByText('Auto-assign would pick').waitFor();
    expect(await page.getByText('Auto-assign would pick').textContent()).toContain('Barbara Liskov');
    await page.getByLabel('Engineer (in auto-assign order)').selectOption({ label: '1. Barbara Liskov (0 of 5 open)' });
    await page.getByRole('button', { name: 'Assign to chosen engineer' }).click();
    await page.getByRole('heading', { name: 'Open review' }).waitFor();
    const reviews = (await t.http.get(`/api/v1/reviews?incidentId=${incident.id}`).set(admin)).body.items;
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({ engineerId: expert.id, status: 'assigned', assignment: { strategy: 'manual' } });

    await t.http
      .post(`/api/v1/reviews/${reviews[0].id}/submit`)
      .set(bearer(engineerToken(expert.id)))
      .send({ approach: 'Restart the replica\nAdd a replication slot' });
    // The page picks the submission up by itself.
    await page.getByRole('heading', { name: 'Decision' }).waitFor({ timeout: LIVE_WAIT_MS });
    const diff = page.getByRole('figure');
    expect(await diff.locator('del').allTextContents()).toEqual(['- Raise wal_keep_size']);
    expect(await diff.locator('ins').allTextContents()).toEqual(['+ Add a replication slot']);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'console-decision.png'), fullPage: true });

    await page.getByRole('radio', { name: "The engineer's approach" }).check();
    await page.getByLabel('Rationale').fill('A slot keeps the WAL without guessing a size');
    await page.getByRole('button', { name: 'Record decision' }).click();
    await page.getByRole('status').filter({ hasText: 'Decision recorded' }).waitFor();
    const decided = await t.http.get(`/api/v1/incidents/${incident.id}`).set(admin);
    expect(decided.body).toMatchObject({ status: 'approved', chosenApproach: 'engineer_approach' });

    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByLabel('Entity id').fill(reviews[0].id);
    await page.getByLabel('Action').selectOption('review.decided');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByRole('table').getByRole('row');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(1).textContent()).toContain('review.decided');
    expect(await rows.nth(1).textContent()).toContain('admin-1');
    await page.getByText('The chain is intact').waitFor();
  });

  it('cancels, reassigns and drains, each with the reason the person gives', async () => {
    const leaving = await createEngineer(t, { name: 'Alan Turing', maxConcurrentReviews: 5 });
    const taking = await createEngineer(t, { name: 'Joan Clarke', maxConcurrentReviews: 5 });
    const first = await createIncident(t, { title: 'Disk full' });
    const review = await assign(first.id, leaving.id);

    const { page } = await consoleAs(adminToken(), `#/incident/${first.id}`);
    await page.getByLabel('Reassign to').selectOption({ label: '1. Joan Clarke (0 of 5 open)' });
    await page.getByLabel('Reason for reassigning').fill('Alan is on call elsewhere');
    await page.getByRole('button', { name: 'Reassign' }).click();
    await page.getByRole('status').filter({ hasText: 'Reassigned' }).waitFor();
    const old = await t.http.get(`/api/v1/reviews/${review.id}`).set(admin);
    expect(old.body).toMatchObject({ status: 'cancelled', cancellationReason: 'Alan is on call elsewhere' });

    expect((await t.http.get(`/api/v1/reviews?incidentId=${first.id}&status=assigned`).set(admin)).body.items[0]).toMatchObject({
      engineerId: taking.id,
      reassignedFromId: review.id,
    });
    await expect.poll(() => page.getByRole('region', { name: 'Open review' }).textContent()).toContain('Joan Clarke');
    await page.getByLabel('Reason for cancelling').fill('Duplicate of another incident');
    await page.getByRole('button', { name: 'Cancel review' }).click();
    await page.getByRole('heading', { name: 'Assign a review' }).waitFor();
    const current = (await t.http.get(`/api/v1/reviews?incidentId=${first.id}&status=cancelled`).set(admin)).body.items;
    expect(current.map((r: { cancellationReason: string }) => r.cancellationReason).sort()).toEqual([
      'Alan is on call elsewhere',
      'Duplicate of another incident',
    ]);

    const second = await createIncident(t, { title: 'Certificate expiring' });
    const moving = await assign(second.id, leaving.id);
    await page.getByRole('link', { name: 'Engineers' }).click();
    const manage = page.getByRole('group', { name: 'Manage Alan Turing' });
    await manage.getByLabel('New status').selectOption('offline');
    await manage.getByLabel('Reason for draining').fill('Leaves the team');
    await manage.getByRole('button', { name: 'Drain Alan Turing' }).click();
    await manage.getByRole('status').filter({ hasText: '1 review(s) moved' }).waitFor();
    const drained = await t.http.get(`/api/v1/reviews/${moving.id}`).set(admin);
    expect(drained.body).toMatchObject({ status: 'cancelled', cancellationReason: 'Leaves the team' });
    expect((await t.http.get(`/api/v1/engineers/${leaving.id}`).set(admin)).body.status).toBe('offline');
  });

  it("shows the API's problem detail when an action is refused", async () => {
    const busy = await createEngineer(t, { name: 'Edsger Dijkstra' });
    await assign((await createIncident(t)).id, busy.id);
    const c = await consoleAs(adminToken(), '#/engineers');
    c.expectFailedRequests(409);
    const manage = c.page.getByRole('group', { name: 'Manage Edsger Dijkstra' });
    await manage.getByRole('button', { name: 'Delete Edsger Dijkstra' }).click();
    const alert = manage.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/open review/i);
    expect((await t.http.get(`/api/v1/engineers/${busy.id}`).set(admin)).body.deletedAt).toBeNull();
  });

  it('creates an engineer, and says in words why a form was refused', async () => {
    const taken = await createEngineer(t, { name: 'Hedy Lamarr' });
    const c = await consoleAs(adminToken(), '#/engineers');
    c.expectFailedRequests(409);
    c.expectFailedRequests(400);
    const { page } = c;
    await page.getByText('Add an engineer').click();
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Create engineer' }) });
    await form.getByLabel('Name').fill('Radia Perlman');
    await form.getByLabel('Email').fill(taken.email);
    await form.getByLabel('Expertise (optional)').fill('networking, postgres');
    await form.getByRole('button', { name: 'Create engineer' }).click();
    expect(await form.getByRole('alert').textContent()).toContain('Another engineer (deleted ones included) has this email');

    await form.getByLabel('Email').fill('radia@example.com');
    await form.getByLabel('Capacity').fill('51');
    await form.getByRole('button', { name: 'Create engineer' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/Capacity: .*50/);

    await form.getByLabel('Capacity').fill('4');
    await form.getByRole('button', { name: 'Create engineer' }).click();
    await form.getByRole('status').filter({ hasText: 'Radia Perlman added' }).waitFor();
    const created = (await t.http.get('/api/v1/engineers?pageSize=100').set(admin)).body.items.find(
      (e: { email: string }) => e.email === 'radia@example.com',
    );
    expect(created).toMatchObject({
      name: 'Radia Perlman',
      expertise: ['networking', 'postgres'],
      maxConcurrentReviews: 4,
      status: 'active',
    });
    await page.getByRole('heading', { name: 'Radia Perlman' }).waitFor({ timeout: LIVE_WAIT_MS });
  });

  it('asks to sign in again when the service refuses the token', async () => {
    const forged = `${adminToken().split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`;
    const c = await consoleAs(forged, '/', undefined, [401]);
    const alert = c.page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Sign in again/);
    expect(await c.page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
  });

  it('updates the board without a reload when an incident arrives and a review is assigned', async () => {
    const engineer = await createEngineer(t, { name: 'Frances Allen' });
    const { page } = await consoleAs(adminToken());
    await page.getByRole('heading', { name: 'Board' }).waitFor();
    await page.evaluate(() => ((globalThis as unknown as BrowserGlobals).marker = 'same page'));
    const incident = await createIncident(t, { title: 'Queue backlog growing' });
    const waiting = page.getByRole('region', { name: /Incidents waiting for a review/ });
    await waiting.getByRole('link', { name: 'Queue backlog growing' }).waitFor({ timeout: LIVE_WAIT_MS });
    if (SCREENSHOTS) {
      const other = await createIncident(t, { title: 'TLS handshake failures', severity: 'critical' });
      await assign(other.id, engineer.id, 'critical');
    }
    await assign(incident.id, engineer.id, 'high');
    await page
      .getByRole('region', { name: /assigned/ })
      .getByRole('link', { name: 'Queue backlog growing' })
      .waitFor({ timeout: LIVE_WAIT_MS });
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).marker)).toBe('same page');
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'console-board.png'), fullPage: true });
  });

  it('decides on the decision page with the keyboard alone', async () => {
    const { incident } = await submitted('Roll back release 42\nPage the on-call');
    const { page } = await consoleAs(adminToken(), `#/incident/${incident.id}`);
    const engineerChoice = page.getByRole('radio', { name: "The engineer's approach" });
    await engineerChoice.waitFor();
    await tabTo(page, page.getByRole('radio').first());
    await page.keyboard.press('Space');
    if (!(await engineerChoice.isChecked())) await page.keyboard.press('ArrowDown');
    expect(await engineerChoice.isChecked()).toBe(true);
    await tabTo(page, page.getByLabel('Rationale'));
    await page.keyboard.type('Flushing the cache would hide the evidence');
    await tabTo(page, page.getByRole('button', { name: 'Record decision' }));
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Decision recorded' }).waitFor();
    expect((await t.http.get(`/api/v1/incidents/${incident.id}`).set(admin)).body.chosenApproach).toBe('engineer_approach');
  });

  it('shows every page without console errors, at 1280 and at 390 px wide', async () => {
    const { incident, engineer, review } = await submitted('Roll back release 42');
    const routes: [string, string][] = [
      [adminToken(), '#/'],
      [adminToken(), '#/engineers'],
      [adminToken(), '#/audit'],
      [adminToken(), `#/incident/${incident.id}`],
      [engineerToken(engineer.id), '#/'],
      [engineerToken(engineer.id), '#/history'],
      [engineerToken(engineer.id), `#/review/${review.id}`],
    ];
    for (const width of [1280, 390]) {
      for (const [token, route] of routes) {
        const { page } = await consoleAs(token, route, { width, height: 800 });
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
        const overflow = await page.evaluate(() => {
          const { documentElement } = (globalThis as unknown as BrowserGlobals).document;
          return documentElement.scrollWidth - documentElement.clientWidth;
        });
        expect(overflow, `${route} at ${width} px scrolls sideways`).toBeLessThanOrEqual(0);
        if (SCREENSHOTS && width === 390 && route.startsWith('#/incident/'))
          await page.screenshot({ path: path.join(SCREENSHOTS, 'console-decision-390.png'), fullPage: true });
      }
    }
  }, 180_000);
});
