// The review inbox in a real browser against the real server: a reviewer signs in, approves with the keyboard,
// edits and approves, rejects with a reason, bulk-approves, and sees the execution and the audit entries; an
// analyst sees no approve button and the API refuses them too.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeliveries } from '../../src/execution/deliver.ts';
import { executionSettings } from '../../src/execution/settings.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, decisionRow, makeUser } from '../review/review-fixtures.ts';
import {
  ensureConsoleBuilt,
  hasChromium,
  launchBrowser,
  signIn,
  SKIP_REASON,
  watchErrors,
} from './browser.ts';
import { createAccount, createNamedContact, proposeQualify } from './console-fixtures.ts';

if (!hasChromium) console.warn(`Skipping the console's review tests: ${SKIP_REASON}`);

describe.skipIf(!hasChromium)('the review console in Chromium', () => {
  let database: TestDatabase;
  let server: TestServer;
  let browser: Browser;
  let reviewer: Awaited<ReturnType<typeof makeUser>>;
  let analyst: Awaited<ReturnType<typeof makeUser>>;
  const single: string[] = [];
  const bulk: string[] = [];

  beforeAll(async () => {
    ensureConsoleBuilt();
    database = await createTestDatabase();
    const [started, launched] = await Promise.all([startTestServer(database), launchBrowser()]);
    server = started;
    browser = launched;
    await activatePolicy(database.db);
    // The only reviewer, so assignment gives every proposal to them (their inbox, "My team").
    reviewer = await makeUser(database.db, ['reviewer']);
    analyst = await makeUser(database.db, ['analyst']);
    const account = await createAccount(database.db);
    for (let i = 0; i < 4; i++) {
      const contact = await createNamedContact(database.db, account);
      single.push(await proposeQualify(database.db, 'single', contact.id, { expectedValue: 3000 - i * 500 }));
    }
    for (let i = 0; i < 2; i++) {
      const contact = await createNamedContact(database.db, account);
      bulk.push(await proposeQualify(database.db, 'bulk', contact.id, { confidence: 0.9 }));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.drop();
  });

  const deliver = () => runDeliveries(database.db, executionSettings(server.config));
  const activeRowId = (page: Page) =>
    page.locator('tbody tr[aria-current="true"]').getAttribute('data-decision-id');

  describe('a reviewer', () => {
    let context: BrowserContext;
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      page = await context.newPage();
      errors = watchErrors(page);
      await signIn(page, server.url, reviewer.token);
    });
    afterAll(async () => {
      await context?.close();
    });

    it('sees the proposals waiting for them, soonest deadline first, with SLA countdowns', async () => {
      const rows = page.locator('tbody tr[data-decision-id]');
      await expect.poll(() => rows.count()).toBe(6);
      // The single-approver rule has a 4 h deadline, the bulk rule none: deadlines first.
      await expect.poll(() => activeRowId(page)).toSatisfy((id) => single.includes(id ?? ''));
      const due = await page.locator('tbody tr').first().locator('td.col-due').innerText();
      expect(due).toMatch(/in 3 h 5\d min|in 4 h 0 min/);
      await expect.poll(() => page.getByText('Bulk allowed').count()).toBe(2);
    });

    it('moves with j/k and approves the active proposal with a', async () => {
      const first = await activeRowId(page);
      await page.keyboard.press('j');
      const second = await activeRowId(page);
      expect(second).not.toBe(first);
      await page.keyboard.press('k');
      expect(await activeRowId(page)).toBe(first);

      await page.keyboard.press('a');
      await page.getByRole('status').filter({ hasText: 'Approved; it executes now' }).waitFor();
      await expect.poll(() => page.locator(`tr[data-decision-id="${first}"]`).count()).toBe(0);
      expect((await decisionRow(database.db, first!)).status).toMatch(/approved|executing|executed/);
    });

    it('edits another with e, sees the diff, approves the edited version, then sees it execute', async () => {
      const id = (await activeRowId(page))!;
      await page.keyboard.press('e');
      await page.waitForURL(`**/decisions/${id}?edit=1`);
      const form = page.getByRole('form', { name: 'Edit the proposed action' });
      await form.waitFor();

      // Nothing changed yet: the form says so instead of sending an empty edit.
      await form.getByRole('button', { name: 'Review changes' }).click();
      await page.getByText('Nothing changed yet').waitFor();

      await form.getByLabel('to stage', { exact: true }).selectOption('nurture');
      await form.getByLabel('Why you changed it').fill('Too early for sales: nurture first');
      await form.getByRole('button', { name: 'Review changes' }).click();
      const diff = page.locator('table.diff', { hasText: 'Your edit against the proposal' });
      await diff.waitFor();
      expect(await diff.locator('tbody tr').count()).toBe(1);
      expect(await diff.locator('del').innerText()).toBe('sql');
      expect(await diff.locator('ins').innerText()).toBe('nurture');

      await page.getByRole('button', { name: 'Approve edited version' }).click();
      await page.getByText('Edited and approved. It executes now').waitFor();
      await page.locator('table.diff', { hasText: 'Approved version against the proposal' }).waitFor();
      const row = await decisionRow(database.db, id);
      expect(row.status).toMatch(/edited_approved|executing|executed/);
      expect((row.approved_action as { params: { to_stage: string } }).params.to_stage).toBe('nurture');

      // The outbox delivers exactly the edited action; the page follows the execution as it happens.
      expect((await deliver()).delivered).toBeGreaterThanOrEqual(1);
      const delivery = page.getByTestId('delivery').filter({ hasText: 'delivered' });
      await delivery.waitFor({ timeout: 15_000 });
      const audit = page.getByTestId('audit-entry');
      await audit.filter({ hasText: 'decision.review' }).first().waitFor();
      await audit.filter({ hasText: reviewer.user.email }).first().waitFor();
      await page.locator('.status-executed').first().waitFor({ timeout: 15_000 });
      // The trail reaches the execution.
      await page.locator('.trail-execution').first().waitFor();
    });

    it('rejects one with r and a reason', async () => {
      await page.getByRole('link', { name: '← Inbox' }).click();
      await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      await expect.poll(() => page.locator('tbody tr[data-decision-id]').count()).toBe(4);
      const id = (await activeRowId(page))!;
      expect(id).toBe(single[2]);
      await page.keyboard.press('r');
      const dialog = page.getByRole('dialog', { name: 'Reject this proposal' });
      await dialog.waitFor();
      // A reject needs a reason.
      await dialog.getByRole('button', { name: 'Reject' }).click();
      await dialog.getByText('a reason is required').waitFor();
      await dialog.getByLabel('Reason').fill('Already talking to their procurement team');
      await dialog.getByRole('button', { name: 'Reject' }).click();
      await page.getByRole('status').filter({ hasText: 'Rejected' }).waitFor();
      await expect.poll(async () => (await decisionRow(database.db, id)).status).toBe('rejected');
      const reviews = await database.db
        .selectFrom('reviews')
        .select(['verdict', 'reason'])
        .where('decision_id', '=', id)
        .execute();
      expect(reviews).toEqual([{ verdict: 'reject', reason: 'Already talking to their procurement team' }]);
    });

    it('bulk-approves the proposals the policy allows, selected with x', async () => {
      for (const id of bulk) {
        await page.locator(`tr[data-decision-id="${id}"]`).click({ position: { x: 300, y: 10 } });
        expect(await activeRowId(page)).toBe(id);
        await page.keyboard.press('x');
      }
      const bar = page.getByRole('region', { name: 'Bulk actions' });
      await bar.getByText('2 selected').waitFor();
      await bar.getByRole('button', { name: 'Approve selected' }).click();
      const dialog = page.getByRole('dialog', { name: 'Approve 2 proposals' });
      await dialog.getByLabel('Reason').fill('Strong intent, standard hand-off');
      await dialog.getByRole('button', { name: 'Approve all' }).click();
      await page.getByRole('status').filter({ hasText: 'Approved 2 of 2.' }).waitFor();
      for (const id of bulk) {
        expect((await decisionRow(database.db, id)).status).toMatch(/approved|executing|executed/);
      }
    });

    it('shows proposals arriving and items claimed elsewhere without a reload', async () => {
      const contact = await createNamedContact(database.db, await createAccount(database.db, 'Initech'));
      const arrived = await proposeQualify(database.db, 'four', contact.id);
      await page.locator(`tr[data-decision-id="${arrived}"]`).waitFor({ timeout: 10_000 });
      await page.getByRole('status').filter({ hasText: '1 new proposal arrived' }).waitFor();

      const other = await makeUser(database.db, ['admin']);
      const claimed = await server.request(`/v1/decisions/${single[3]}/claim`, {
        method: 'POST',
        token: other.token,
        json: {},
      });
      expect(claimed.status).toBe(200);
      const row = page.locator(`tr[data-decision-id="${single[3]}"]`);
      await row.getByText(`Claimed by ${other.user.name}`).waitFor({ timeout: 10_000 });
      expect(await row.getByRole('button', { name: /^Approve/ }).isDisabled()).toBe(true);
      await server.request(`/v1/decisions/${single[3]}/claim`, {
        method: 'POST',
        token: other.token,
        json: { release: true },
      });
    });

    it('finds the reviews in the audit trail, with the chain intact', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
      await page.getByTestId('chain-status').filter({ hasText: 'Intact' }).waitFor();
      await page.getByLabel('Action').fill('decision.review');
      await page.getByRole('button', { name: 'Search' }).click();
      // One review entry per decision: approved, edited, rejected, and the two of the bulk approval.
      const rows = page.locator('tbody tr', { hasText: 'decision.review' });
      await expect.poll(() => rows.count()).toBe(5);
      expect(await rows.filter({ hasText: reviewer.user.email }).count()).toBe(5);
      expect(await rows.filter({ hasText: 'Already talking to their procurement team' }).count()).toBe(1);
      await page.getByLabel('Action').fill('decision.bulk_review');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.locator('tbody tr', { hasText: 'Strong intent, standard hand-off' }).waitFor();
      expect(errors).toEqual([]);
    });
  });

  describe('an analyst', () => {
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      page = await context.newPage();
      await signIn(page, server.url, analyst.token);
    });
    afterAll(async () => {
      await context?.close();
    });

    it('reads the inbox but has no approve button, and the keyboard refuses too', async () => {
      await page.getByText('approving needs the reviewer role').waitFor();
      await expect.poll(() => page.locator('tbody tr[data-decision-id]').count()).toBe(2);
      expect(await page.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
      expect(await page.getByRole('checkbox').count()).toBe(0);
      await page.keyboard.press('a');
      await page.getByRole('alert').filter({ hasText: 'cannot approve' }).waitFor();
      expect((await decisionRow(database.db, single[3]!)).status).toBe('pending_review');
    });

    it('sees the decision read-only, and the API refuses their approval', async () => {
      const id = single[3]!;
      await page.goto(`${server.url}/decisions/${id}`);
      await page.getByText('Read only: reviewing this needs the reviewer role').waitFor();
      expect(await page.getByRole('button', { name: /Approve|Edit|Reject/ }).count()).toBe(0);
      const refused = await server.request(`/v1/decisions/${id}/reviews`, {
        method: 'POST',
        token: analyst.token,
        json: { verdict: 'approve' },
      });
      expect(refused.status).toBe(403);
      // Nor through the analyst's console session (cookie + CSRF token).
      const status = await page.evaluate(async (decision) => {
        const session = await (await fetch('/v1/session')).json();
        const response = await fetch(`/v1/decisions/${decision}/reviews`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
          body: JSON.stringify({ verdict: 'approve' }),
        });
        return response.status;
      }, id);
      expect(status).toBe(403);
      expect((await decisionRow(database.db, id)).status).toBe('pending_review');
    });
  });
});
