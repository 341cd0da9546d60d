// Every main page of the console in a real browser: it shows what the API holds, axe-core finds no serious or
// critical accessibility violation on it, and it fits a narrow (400 px) window without scrolling sideways.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, makeUser } from '../review/review-fixtures.ts';
import {
  ensureConsoleBuilt,
  hasChromium,
  launchBrowser,
  seriousViolations,
  signIn,
  SKIP_REASON,
  watchErrors,
} from './browser.ts';
import { createAccount, createNamedContact, proposeQualify } from './console-fixtures.ts';

if (!hasChromium) console.warn(`Skipping the console's page tests: ${SKIP_REASON}`);

const DAY = 86_400_000;

/** Stage changes over the last months, so the funnel has rates and cycle times to draw. */
async function addStageHistory(db: Db, contactIds: string[]): Promise<void> {
  const now = Date.now();
  const rows = contactIds.flatMap((contact_id, i) => {
    const start = now - (40 + i * 25) * DAY;
    const path =
      i % 3 === 0 ? ['lead', 'mql', 'sql'] : i % 3 === 1 ? ['lead', 'mql'] : ['lead', 'disqualified'];
    return path.map((to_stage, k) => ({
      contact_id,
      from_stage: k === 0 ? null : path[k - 1]!,
      to_stage,
      changed_at: new Date(start + k * (3 + i) * DAY),
      event_id: null,
    }));
  });
  await db.insertInto('contact_stage_history').values(rows).execute();
}

/** Two registered versions with their holdout figures, as training leaves them (champion and challenger). */
async function addModelVersions(db: Db): Promise<void> {
  const curve = (shift: number) =>
    [0.05, 0.15, 0.3, 0.5, 0.7].map((p, bin) => ({
      bin,
      count: 120 - bin * 20,
      lower: bin * 0.2,
      upper: (bin + 1) * 0.2,
      positives: Math.round((120 - bin * 20) * Math.min(1, p + shift)),
      observedRate: Math.min(1, p + shift),
      meanPredicted: p,
    }));
  const roc = (power: number) =>
    Array.from({ length: 11 }, (_, i) => ({ fpr: i / 10, tpr: Math.pow(i / 10, power) }));
  for (const [version, alias, auc, shift, power] of [
    [1, 'champion', 0.81, 0.04, 0.35],
    [2, 'challenger', 0.84, 0.01, 0.3],
  ] as const) {
    const row = await db
      .insertInto('models')
      .values({
        name: 'lead_score',
        version,
        kind: 'gbt',
        feature_set: 'lead_scoring',
        feature_set_version: 2,
        label: 'became SQL within 30 days',
        training_data_hash: `hash-${version}`,
        train_rows: 2000,
        holdout_rows: 500,
        params: JSON.stringify({ kind: 'gbt' }),
        code_version: 'test',
        metrics: JSON.stringify({
          holdout: { roc_auc: auc, pr_auc: 0.4, brier: 0.12, ece: 0.03, lift_at_10: 2.8, rows: 500 },
          roc_curve: roc(power),
        }),
        calibration_curve: JSON.stringify(curve(shift)),
        artifact: JSON.stringify({}),
        trained_by: 'test',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('model_aliases')
      .values({ name: 'lead_score', alias, model_id: row.id, updated_by: 'test' })
      .execute();
  }
}

describe.skipIf(!hasChromium)('the console pages in Chromium', () => {
  let database: TestDatabase;
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let decisionId: string;

  beforeAll(async () => {
    ensureConsoleBuilt();
    database = await createTestDatabase();
    const [started, launched] = await Promise.all([startTestServer(database), launchBrowser()]);
    server = started;
    browser = launched;
    await activatePolicy(database.db);
    const admin = await makeUser(database.db, ['admin']);
    const account = await createAccount(database.db, 'Globex');
    const contacts = [];
    for (let i = 0; i < 6; i++) contacts.push(await createNamedContact(database.db, account));
    decisionId = await proposeQualify(database.db, 'single', contacts[0]!.id);
    await proposeQualify(database.db, 'bulk', contacts[1]!.id, { confidence: 0.55 });
    await proposeQualify(database.db, 'four', contacts[2]!.id, { expectedValue: 25_000 });
    await addStageHistory(
      database.db,
      contacts.map((c) => c.id),
    );
    await addModelVersions(database.db);
    // axe is injected as a script: the console's Content-Security-Policy (script-src 'self') would refuse it.
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    page = await context.newPage();
    errors = watchErrors(page);
    await signIn(page, server.url, admin.token);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await database?.drop();
  });

  const open = async (path: string, ready: string) => {
    await page.goto(`${server.url}${path}`);
    await page.locator(ready).first().waitFor();
  };
  const expectAccessible = async () => expect(await seriousViolations(page)).toEqual([]);

  it('inbox: the proposals, filters and keyboard help, without serious accessibility violations', async () => {
    await open('/inbox', 'tbody tr[data-decision-id]');
    expect(await page.locator('tbody tr[data-decision-id]').count()).toBe(3);
    await expectAccessible();

    // Filters go to the API: at least 20 000 of value leaves the four-eyes proposal.
    await page.getByLabel('Value at least').fill('20000');
    await expect.poll(() => page.locator('tbody tr[data-decision-id]').count()).toBe(1);
    expect(await page.locator('td.col-approvals').innerText()).toBe('0/2');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => page.locator('tbody tr[data-decision-id]').count()).toBe(3);

    // Sorting by value, highest first.
    await page.getByRole('button', { name: /^Value/ }).click();
    const values = await page.locator('td.col-value').allInnerTexts();
    expect(values[0]).toBe('25,000');

    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    await expectAccessible();
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
  });

  it('decision detail: the whole story and the edit form, without serious accessibility violations', async () => {
    await open(`/decisions/${decisionId}`, '.trail-step');
    await page.locator('.dissent', { hasText: 'The company may be too small to buy' }).waitFor();
    await page.getByText('An SDR checks the account before the first call.').first().waitFor();
    await page.getByText('three pricing-page visits in 7 days').first().waitFor();
    await page.locator('.factors-chart svg').first().waitFor();
    await page.getByText('Globex').first().waitFor();
    await expectAccessible();
    await page.getByRole('button', { name: 'Edit…' }).click();
    await page.getByRole('form', { name: 'Edit the proposed action' }).waitFor();
    await expectAccessible();
  });

  it('audit: the log and the chain verification, without serious accessibility violations', async () => {
    await open('/audit', '[data-testid="chain-status"]');
    expect(await page.getByTestId('chain-status').innerText()).toMatch(/^Intact: all \d+ entries verified/);
    await page.locator('tbody tr').first().waitFor();
    await expectAccessible();
  });

  it('funnel: conversion and cycle times by month and group, without serious accessibility violations', async () => {
    await open('/funnel', '.recharts-surface');
    await page.getByRole('heading', { name: 'Last 12 months' }).waitFor();
    await expectAccessible();
    await page.getByLabel('Group by').selectOption('region');
    await page.locator('tbody th', { hasText: 'EMEA' }).waitFor();
    await page.getByLabel('Show').selectOption('median_days');
    await page.getByRole('heading', { name: /Median days out of/ }).waitFor();
  });

  it('models: versions, ROC and calibration plots, without serious accessibility violations', async () => {
    await open('/models', 'table.grid tbody tr');
    await page.getByText('champion', { exact: true }).waitFor();
    await page.getByText('challenger', { exact: true }).waitFor();
    await page.getByRole('img', { name: /^ROC curves of v2 \(AUC 0\.840\), v1/ }).waitFor();
    await page.getByRole('img', { name: /^Calibration plot of/ }).waitFor();
    // Only the champion cannot be promoted again.
    expect(await page.getByRole('button', { name: 'Promote' }).count()).toBe(1);
    await expectAccessible();
  });

  it('policies: versions, a simulated candidate, a proposal and its diff, without serious violations', async () => {
    await open('/policies', 'pre.policy-doc');
    await expectAccessible();
    const candidate = page.getByLabel('Policy (YAML)');
    await expect.poll(() => candidate.inputValue()).toContain('rules:');
    const edited = (await candidate.inputValue()).replace(
      'then: { outcome: review, review: { approvals: 1, role: reviewer, bulk: true } }',
      'then: { outcome: auto }',
    );
    await candidate.fill(edited);
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.getByText(/3 proposals since .*; 1 would have gone differently/).waitFor();
    await page.getByLabel('Why this change').fill('bulk-tier leads run on their own');
    await page.getByRole('button', { name: 'Propose this version' }).click();
    await page.getByText('Proposed as version 2').waitFor();
    await page.locator('tbody tr', { hasText: 'v2' }).getByRole('button', { name: 'View' }).click();
    await page.locator('.policy-diff .add', { hasText: 'outcome: auto' }).waitFor();
    await expectAccessible();
  });

  it('fits a 400 px window: no sideways scrolling, the navigation behind a menu button', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    for (const [path, ready] of [
      ['/inbox', 'tbody tr[data-decision-id]'],
      [`/decisions/${decisionId}`, '.trail-step'],
      ['/audit', 'tbody tr'],
      ['/funnel', '.recharts-surface'],
      ['/models', '.recharts-surface'],
      ['/policies', 'pre.policy-doc'],
    ] as const) {
      await open(path, ready);
      const overflow = await page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        // For the message: what sticks out (inside the wide tables' own scrolling boxes is fine).
        const culprits = Array.from(document.querySelectorAll('body *'))
          .filter((el) => el.getBoundingClientRect().right > width + 1)
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        return { by: document.documentElement.scrollWidth - width, culprits };
      });
      expect(overflow.by, `${path} scrolls sideways; wide: ${overflow.culprits.join(', ')}`).toBe(0);
    }
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await nav.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    await expectAccessible();
    expect(errors).toEqual([]);
  });
});
