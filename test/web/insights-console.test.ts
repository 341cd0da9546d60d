// The KPIs, experiments, monitoring, forecast and bottleneck pages in a real browser, over data made by the real
// functions: reviews through reviewDecision, an experiment through createExperiment, a drift alarm that trips the
// circuit breaker through runMonitoring (as test/feedback/drift-alarm.test.ts does), and a simulated world (its
// own database) with a forecast stored a week ago and bottleneck findings from runBottleneckDetection. A policy
// owner resets the breaker with a reason; an analyst reads everything and gets no write controls.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBottleneckDetection } from '../../src/agents/bottleneck/run-bottlenecks.ts';
import { runForecast } from '../../src/agents/forecast/run-forecast.ts';
import type { Db } from '../../src/db/database.ts';
import { createExperiment } from '../../src/feedback/experiments.ts';
import { inProcessSink, runSimulation } from '../../src/ingest/simulator/run.ts';
import { runMonitoring } from '../../src/monitoring/run-monitoring.ts';
import { reviewDecision } from '../../src/review/review-decision.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { championWithDriftReference, scoreLeads } from '../helpers/drift-fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, CONNECTOR, makeUser } from '../review/review-fixtures.ts';
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

if (!hasChromium) console.warn(`Skipping the insights console tests: ${SKIP_REASON}`);

const DAY = 86_400_000;

/** 18 months of a simulated funnel up to now (with its planted bottleneck), a forecast a week ago, findings. */
async function simulatedWorld(db: Db): Promise<void> {
  const now = new Date();
  await runSimulation({ db, params: { accounts: 400, months: 18, seed: 7, now }, sink: inProcessSink(db) });
  await runForecast(db, { kind: 'quarter', asOf: new Date(now.getTime() - 7 * DAY), by: 'test' });
  await runBottleneckDetection(db, { now, connector: CONNECTOR });
}

/** A champion with a drift reference of N(0, 1), and 400 leads scored from N(0.8, 1): a drift alarm. */
async function driftedChampion(db: Db): Promise<void> {
  await scoreLeads(db, await championWithDriftReference(db), 0.8, 3);
}

describe.skipIf(!hasChromium)(
  'the KPIs, experiments, monitoring, forecast and bottleneck pages in Chromium',
  () => {
    let database: TestDatabase;
    let server: TestServer;
    let world: TestDatabase;
    let worldServer: TestServer;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    let owner: Page;
    let analyst: Page;
    const errors: string[][] = [];
    let reviewerId: string;

    const newPage = async (token: string, url = server.url): Promise<Page> => {
      // axe is injected as a script: the console's Content-Security-Policy (script-src 'self') would refuse it.
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
      contexts.push(context);
      const page = await context.newPage();
      errors.push(watchErrors(page));
      await signIn(page, url, token);
      return page;
    };

    beforeAll(async () => {
      ensureConsoleBuilt();
      [database, world] = await Promise.all([createTestDatabase(), createTestDatabase()]);
      const simulated = simulatedWorld(world.db);
      const [started, launched] = await Promise.all([startTestServer(database), launchBrowser()]);
      server = started;
      browser = launched;
      const db = database.db;
      await activatePolicy(db);
      // Reviews: one reviewer approves three proposals and rejects one.
      const reviewer = await makeUser(db, ['reviewer']);
      reviewerId = reviewer.user.id;
      const account = await createAccount(db, 'Initech');
      for (let i = 0; i < 4; i++) {
        const contact = await createNamedContact(db, account);
        const decisionId = await proposeQualify(db, 'single', contact.id);
        await reviewDecision(db, {
          decisionId,
          reviewer: reviewer.reviewer,
          verdict: i === 3 ? 'reject' : 'approve',
          reason: i === 3 ? 'not a buyer yet' : null,
          connector: CONNECTOR,
        });
      }
      await createExperiment(
        db,
        { name: 'holdout-q4', holdoutShare: 0.2, description: 'does qualification help?' },
        { name: 'test' },
      );
      await driftedChampion(db);
      const report = await runMonitoring(db, server.config);
      expect(report.alarms.tripped).not.toBeNull();
      const [policyOwner, reader] = await Promise.all([
        makeUser(db, ['policy_owner']),
        makeUser(db, ['analyst']),
      ]);
      owner = await newPage(policyOwner.token);
      analyst = await newPage(reader.token);
      await simulated;
      worldServer = await startTestServer(world);
    }, 300_000);

    afterAll(async () => {
      for (const context of contexts) await context.close();
      await browser?.close();
      await Promise.all([server?.close(), worldServer?.close()]);
      await Promise.all([database?.drop(), world?.drop()]);
    });

    const open = async (page: Page, path: string, ready: string, url = server.url) => {
      await page.goto(`${url}${path}`);
      await page.locator(ready).first().waitFor();
    };
    const expectAccessible = async (page: Page) => expect(await seriousViolations(page)).toEqual([]);

    it('KPIs: review rates over time, the reviewers and the forecast error, without serious violations', async () => {
      await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'KPIs' }).click();
      await owner.getByRole('heading', { name: 'KPIs', level: 1 }).waitFor();
      await owner.getByRole('img', { name: /Line chart of review approve rate by week/ }).waitFor();
      await owner.locator('.recharts-surface').first().waitFor();
      const row = owner.locator(`tr[data-reviewer-id="${reviewerId}"]`);
      await row.waitFor();
      expect(await row.locator('td').first().innerText()).toBe('4');
      await owner.getByText(/None yet: a period counts once it is over/).waitFor();
      await expectAccessible(owner);
      await owner.getByLabel('Group by').selectOption('agent');
      await owner.getByRole('columnheader', { name: 'Agent' }).waitFor();
      await owner.getByRole('combobox', { name: /^KPI/ }).selectOption('reject_rate');
      await owner.getByRole('heading', { name: 'Review reject rate by week' }).waitFor();
    });

    it('experiments: the lift with intervals and the ROI; a policy owner starts and stops one', async () => {
      await open(owner, '/experiments', 'tr[data-experiment="holdout-q4"]');
      await owner.getByRole('heading', { name: 'Lift of holdout-q4' }).waitFor();
      await owner.locator('.lift-table th', { hasText: 'Lead to SQL (30 d)' }).waitFor();
      await owner.locator('.lift-table th', { hasText: 'Median days to SQL' }).waitFor();
      await owner.getByTestId('roi-summary').getByText('Human hours in review').waitFor();
      await expectAccessible(owner);

      await owner.getByLabel('Name', { exact: true }).fill('holdout-2027');
      await owner.getByLabel('Holdout share (%)').fill('15');
      await owner.getByRole('button', { name: 'Start', exact: true }).click();
      await owner.getByText('Started holdout-2027.').waitFor();
      await owner.getByRole('heading', { name: 'Lift of holdout-2027' }).waitFor();

      await owner.getByRole('button', { name: 'Stop holdout-2027' }).click();
      const dialog = owner.getByRole('dialog', { name: 'Stop holdout-2027' });
      await dialog.waitFor();
      await expectAccessible(owner);
      await dialog.getByLabel('Reason').fill('started by mistake');
      await dialog.getByRole('button', { name: 'Stop the experiment' }).click();
      await owner.getByText('Stopped holdout-2027').waitFor();
      await owner.locator('tr[data-experiment="holdout-2027"]', { hasText: 'stopped' }).waitFor();
      const audit = await server.request('/v1/audit?action=experiment.stop', {
        token: await server.tokenFor('analyst'),
      });
      expect(JSON.stringify(audit.body)).toContain('started by mistake');
    });

    it('monitoring for an analyst: the tripped breaker, its alarm and the drift, but no reset', async () => {
      await analyst
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Monitoring' })
        .click();
      const breaker = analyst.getByTestId('breaker');
      await breaker.getByText('Open', { exact: true }).waitFor();
      await breaker
        .getByTestId('tripping-alarm')
        .getByText(/feature drift · intent|score drift · score/)
        .waitFor();
      await analyst.locator('tr[data-alarm="feature_drift:intent"]').waitFor();
      const intent = analyst.locator('tr[data-feature="intent"]');
      await intent.waitFor();
      expect(parseFloat(await intent.locator('td').first().innerText())).toBeGreaterThan(0.4);
      expect(await intent.locator('td').nth(1).innerText()).toBe('Kolmogorov–Smirnov');
      await analyst.getByRole('img', { name: /Bar chart of PSI per feature/ }).waitFor();
      expect(await analyst.getByRole('button', { name: /Reset the breaker/ }).count()).toBe(0);
      await analyst.getByText('Only a policy owner or an admin resets the breaker').waitFor();
      await expectAccessible(analyst);
    });

    it('monitoring for a policy owner: resetting asks for a reason, closes the breaker, acknowledges', async () => {
      await open(owner, '/monitoring', '[data-testid="tripping-alarm"]');
      await owner.getByRole('button', { name: 'Reset the breaker…' }).click();
      const dialog = owner.getByRole('dialog', { name: 'Reset the circuit breaker' });
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Reset' }).click();
      await dialog.getByText('Say why, in at least 3 characters.').waitFor();
      await dialog.getByLabel('Reason').fill('drift explained by the new campaign');
      await dialog.getByRole('button', { name: 'Reset' }).click();
      await owner.getByText('Circuit breaker closed: automatic execution resumes.').waitFor();
      await owner.getByTestId('breaker').getByText('Closed', { exact: true }).waitFor();
      await owner
        .locator('tr[data-alarm="feature_drift:intent"]')
        .getByText(/Acknowledged by .*: drift explained by the new campaign/)
        .waitFor();
      await expectAccessible(owner);
      const state = await server.request('/v1/circuit-breaker', { token: await server.tokenFor('analyst') });
      expect(state.body).toMatchObject({ open: false, reason: 'drift explained by the new campaign' });
    });

    it('an analyst reads the experiments without start or stop controls', async () => {
      await open(analyst, '/experiments', 'tr[data-experiment="holdout-q4"]');
      await analyst.getByRole('button', { name: 'Show the lift of holdout-q4' }).click();
      await analyst.getByRole('heading', { name: 'Lift of holdout-q4' }).waitFor();
      expect(await analyst.getByRole('button', { name: /^Stop / }).count()).toBe(0);
      expect(await analyst.getByRole('heading', { name: 'Start an experiment' }).count()).toBe(0);
      await analyst
        .getByText('Starting and stopping experiments need the policy_owner or admin role.')
        .waitFor();
    });

    it('forecast: periods with their range, breakdown, a scenario, the changes and the backtest', async () => {
      const page = await newPage(await worldServer.tokenFor('analyst'), worldServer.url);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Forecast' }).click();
      await page.getByRole('img', { name: /^Expected won value with its P10–P90 range: / }).waitFor();
      expect(await page.locator('dl[data-period]').count()).toBe(2);
      await page.getByRole('heading', { name: 'By segment' }).waitFor();
      await page.getByLabel('Break down by').selectOption('owner');
      await page.getByRole('heading', { name: 'By owner' }).waitFor();
      // The run a week ago against the one the page just stored.
      await page.getByTestId('forecast-delta').waitFor();
      await page
        .getByTestId('backtest-summary')
        .getByText('Stage-weighted pipeline')
        .waitFor({ timeout: 120_000 });
      await expectAccessible(page);

      const winRate = page.getByLabel('Win rate');
      await winRate.fill('1.5');
      await page.getByRole('button', { name: 'Show the scenario' }).click();
      const result = page.getByTestId('scenario-result');
      await result.waitFor({ timeout: 120_000 });
      const change = await result.locator('tbody tr').first().locator('td').nth(2).innerText();
      expect(change.startsWith('+')).toBe(true);
      await expectAccessible(page);
    });

    it('bottlenecks: the findings with their remedy; running detection is for policy owners', async () => {
      const page = await newPage(await worldServer.tokenFor('analyst'), worldServer.url);
      await page.goto(`${worldServer.url}/bottlenecks`);
      await page.locator('tr[data-finding]').first().waitFor();
      await page.getByRole('link', { name: 'Proposal' }).first().waitFor();
      expect(await page.getByRole('button', { name: 'Run detection now' }).count()).toBe(0);
      await expectAccessible(page);
      const ownerPage = await newPage(await worldServer.tokenFor('policy_owner'), worldServer.url);
      await ownerPage.goto(`${worldServer.url}/bottlenecks`);
      await ownerPage.getByRole('button', { name: 'Run detection now' }).click();
      await ownerPage.getByText(/Detection ran: \d+ findings/).waitFor({ timeout: 120_000 });
    });

    it('fits a 400 px window without sideways scrolling', async () => {
      const sideways = async (page: Page, url: string, path: string, ready: string) => {
        await open(page, path, ready, url);
        const overflow = await page.evaluate(() => {
          const width = document.documentElement.clientWidth;
          const culprits = Array.from(document.querySelectorAll('body *'))
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
          return { by: document.documentElement.scrollWidth - width, culprits };
        });
        expect(overflow.by, `${path} scrolls sideways; wide: ${overflow.culprits.join(', ')}`).toBe(0);
      };
      await owner.setViewportSize({ width: 400, height: 800 });
      await sideways(owner, server.url, '/kpis', '.recharts-surface');
      await sideways(owner, server.url, '/experiments', '.lift-table');
      await sideways(owner, server.url, '/monitoring', 'tr[data-feature="intent"]');
      await expectAccessible(owner);
      const reader = await newPage(await worldServer.tokenFor('analyst'), worldServer.url);
      await reader.setViewportSize({ width: 400, height: 800 });
      await sideways(reader, worldServer.url, '/forecast', '[data-testid="backtest-summary"]');
      await sideways(reader, worldServer.url, '/bottlenecks', 'tr[data-finding]');
      expect(errors.flat()).toEqual([]);
    });
  },
);
