// The funnel simulator: deterministic, valid CloudEvents, lazy, and its planted truth is visible in the data it
// generates. The end-to-end part runs a small world through the real in-process ingestion into a test database.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cloudEventSchema,
  EVENT_CATALOGUE,
  isKnownEventType,
  type CloudEvent,
} from '../src/ingest/catalogue.ts';
import { isFreeMailDomain } from '../src/ingest/free-mail.ts';
import { seedDemoDataIfEmpty } from '../src/ingest/simulator/demo.ts';
import { simulateFunnel, type GroundTruth } from '../src/ingest/simulator/generate.ts';
import {
  LEAD_FEATURES,
  LEAD_MODEL_COEFFICIENTS,
  type LeadFeature,
} from '../src/ingest/simulator/lead-model.ts';
import { createRandom } from '../src/ingest/simulator/random.ts';
import { inProcessSink, runSimulation } from '../src/ingest/simulator/run.ts';
import { applySimulationSetup } from '../src/ingest/simulator/setup.ts';
import { loadConfig } from '../src/config.ts';
import { ensureStream } from '../src/ingest/nats-consumer.ts';
import { httpSink, natsSink } from '../src/ingest/simulator/sinks.ts';
import { createLogger } from '../src/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startTestServer } from './helpers/server.ts';

const NOW = new Date('2025-07-01T00:00:00Z');
const DAY = 86_400_000;
const SMALL = { seed: 11, accounts: 40, months: 6, now: NOW };

type Data = Record<string, any>;

describe('the random source', () => {
  it('repeats itself for the same seed and differs for another', () => {
    const draw = (seed: number) => {
      const rng = createRandom(seed);
      return [
        rng.next(),
        rng.normal(),
        rng.poisson(3),
        rng.lognormal(5, 0.5),
        rng.int(1, 6),
        rng.fork('x').next(),
      ];
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('has the moments it claims', () => {
    const rng = createRandom(99);
    const n = 20_000;
    const mean = (f: () => number) => Array.from({ length: n }, f).reduce((a, b) => a + b, 0) / n;
    expect(mean(() => rng.next())).toBeCloseTo(0.5, 1);
    expect(mean(() => rng.normal(3, 2))).toBeCloseTo(3, 1);
    expect(mean(() => rng.poisson(2.5))).toBeCloseTo(2.5, 1);
    expect(mean(() => rng.exponential(4))).toBeCloseTo(4, 0);
    const picks = Array.from({ length: n }, () => rng.weighted(['a', 'b'], [1, 3]));
    expect(picks.filter((p) => p === 'b').length / n).toBeCloseTo(0.75, 1);
  });
});

describe('simulateFunnel', () => {
  it('is deterministic: the same seed gives the same world, another seed another one', () => {
    const first = simulateFunnel(SMALL);
    const again = simulateFunnel(SMALL);
    const events = [...first.events()];
    expect(events.length).toBeGreaterThan(1000);
    expect([...again.events()]).toEqual(events);
    expect([...first.events()]).toEqual(events); // a second pass over the same world
    expect(again.setup).toEqual(first.setup);
    expect(again.groundTruth).toEqual(first.groundTruth);

    const other = [...simulateFunnel({ ...SMALL, seed: 12 }).events()];
    expect(other.map((e) => e.data)).not.toEqual(events.map((e) => e.data));
  });

  it('rejects impossible parameters with a clear message', () => {
    expect(() => simulateFunnel({ ...SMALL, regions: ['NA'] })).toThrow(/bottleneck region EMEA/);
    expect(() => simulateFunnel({ ...SMALL, accounts: 0 })).toThrow(/accounts/);
  });

  it('describes the company it simulates: territories, teams, reps, reviewers and products', () => {
    const { setup, groundTruth } = simulateFunnel({ ...SMALL, repsPerRegion: 3 });
    expect(setup.territories.map((t) => t.name)).toEqual(['NA', 'EMEA', 'APAC', 'LATAM']);
    expect(setup.teams).toHaveLength(4);
    const reps = setup.users.filter((u) => u.roles.includes('rep'));
    const reviewers = setup.users.filter((u) => u.roles.includes('reviewer'));
    expect(reps).toHaveLength(12);
    expect(reviewers).toHaveLength(4);
    expect(new Set(setup.users.map((u) => u.email)).size).toBe(setup.users.length);
    for (const rep of reps) {
      expect(rep.skills.length).toBeGreaterThan(0);
      expect(rep.capacity).toBeGreaterThan(0);
      expect(rep.timezone).toMatch(/\//);
    }
    expect(setup.products.map((p) => p.sku)).toContain('PLT-ENTERPRISE');
    expect(groundTruth.reps).toHaveLength(12);
    for (const rep of groundTruth.reps) {
      expect(Object.keys(rep.winRateMultiplier).sort()).toEqual(['enterprise', 'mid_market', 'smb']);
    }
  });
});

describe('the generated events', () => {
  let events: CloudEvent[];
  let world: ReturnType<typeof simulateFunnel>;
  beforeAll(() => {
    world = simulateFunnel({ seed: 5, accounts: 150, months: 12, now: NOW });
    events = [...world.events()];
  });

  it('are CloudEvents 1.0 whose data matches the catalogue', () => {
    const start = world.params.startDate.getTime();
    for (const event of events) {
      expect(cloudEventSchema.safeParse(event).success).toBe(true);
      expect(isKnownEventType(event.type)).toBe(true);
      const parsed = EVENT_CATALOGUE[event.type as keyof typeof EVENT_CATALOGUE].safeParse(event.data);
      if (!parsed.success) throw new Error(`${event.type} ${event.id}: ${parsed.error.message}`);
      expect(event.source).toBe('simulator');
      expect(event.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      const at = Date.parse(event.time);
      expect(at).toBeLessThanOrEqual(NOW.getTime());
      expect(at).toBeGreaterThanOrEqual(start);
    }
    const types = new Set(events.map((e) => e.type));
    for (const type of [
      'crm.account.created',
      'crm.contact.created',
      'crm.contact.stage_changed',
      'crm.opportunity.created',
      'crm.opportunity.stage_changed',
      'email.sent',
      'email.delivered',
      'email.opened',
      'email.clicked',
      'email.replied',
      'email.bounced',
      'email.unsubscribed',
      'web.page_viewed',
      'web.form_submitted',
      'meeting.booked',
      'meeting.held',
      'meeting.no_show',
      'call.logged',
      'support.ticket_opened',
      'support.ticket_updated',
      'support.ticket_closed',
      'product.usage',
    ]) {
      expect(types, type).toContain(type);
    }
    expect(world.groundTruth.summary).toMatchObject({ complete: true, accounts: 150, events: events.length });
  });

  it('have unique, deterministic ids', () => {
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe('sim-5-1');
    expect(ids.every((id) => /^sim-5-\d+$/.test(id))).toBe(true);
  });

  it('come account by account, in time order, each entity created before anything refers to it', () => {
    const segments: CloudEvent[][] = [];
    for (const event of events) {
      if (event.type === 'crm.account.created') segments.push([]);
      segments.at(-1)!.push(event);
    }
    expect(segments).toHaveLength(150);
    for (const segment of segments) {
      const times = segment.map((e) => Date.parse(e.time));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      const account = (segment[0]!.data as Data).account.crm_id;
      const contacts = new Set<string>();
      const opportunities = new Set<string>();
      for (const event of segment) {
        const data = event.data as Data;
        if (data.account?.crm_id) expect(data.account.crm_id).toBe(account);
        if (event.type === 'crm.contact.created') contacts.add(data.contact.email);
        else if (data.contact?.email)
          expect(contacts, `${event.type} before its contact`).toContain(data.contact.email);
        if (event.type === 'crm.opportunity.created') opportunities.add(data.opportunity.crm_id);
        else if (data.opportunity) expect(opportunities).toContain(data.opportunity.crm_id);
      }
    }
  });

  it('give free-mail contacts a CRM account reference on every event about them', () => {
    const freeMail = events.filter(
      (e) =>
        (e.data as Data).contact?.email && isFreeMailDomain((e.data as Data).contact.email.split('@')[1]),
    );
    const people = new Set(freeMail.map((e) => (e.data as Data).contact.email));
    expect(people.size).toBeGreaterThan(20);
    const created = events.filter((e) => e.type === 'crm.contact.created').length;
    expect(people.size / created).toBeGreaterThan(0.05);
    expect(people.size / created).toBeLessThan(0.16);
    for (const event of freeMail)
      expect((event.data as Data).account?.crm_id, event.type).toMatch(/^s5-a\d+$/);
  });

  it('show anonymous visitors who are identified by a form, and carry both ids afterwards', () => {
    const anonymousOnly = events.filter(
      (e) =>
        e.type === 'web.page_viewed' &&
        !(e.data as Data).contact.email &&
        (e.data as Data).contact.anonymous_id,
    );
    expect(anonymousOnly.length).toBeGreaterThan(50);
    const forms = events.filter((e) => e.type === 'web.form_submitted');
    const revealed = new Map(forms.map((e) => [(e.data as Data).contact.anonymous_id, Date.parse(e.time)]));
    for (const view of anonymousOnly) {
      const id = (view.data as Data).contact.anonymous_id;
      expect(revealed.has(id)).toBe(true);
      expect(Date.parse(view.time)).toBeLessThanOrEqual(revealed.get(id)!);
    }
    const both = events.filter(
      (e) =>
        e.type === 'web.page_viewed' &&
        (e.data as Data).contact.email &&
        (e.data as Data).contact.anonymous_id,
    );
    expect(both.length).toBeGreaterThan(50);
    for (const view of both) {
      expect(Date.parse(view.time)).toBeGreaterThan(revealed.get((view.data as Data).contact.anonymous_id)!);
    }
  });

  it('move opportunities through the stages to won or lost, with owners from the account territory', () => {
    const regionOfAccount = new Map<string, string>();
    const territoryOfRep = new Map(world.groundTruth.reps.map((r) => [r.email, r.region]));
    for (const event of events) {
      const data = event.data as Data;
      if (event.type === 'crm.account.created') regionOfAccount.set(data.account.crm_id, data.region);
      if (event.type === 'crm.opportunity.created') {
        expect(territoryOfRep.get(data.owner_email)).toBe(regionOfAccount.get(data.account.crm_id));
        expect(data.stage).toBe('discovery');
        expect(data.amount).toBeGreaterThan(0);
      }
    }
    const closes = events.filter(
      (e) => e.type === 'crm.opportunity.stage_changed' && (e.data as Data).status !== 'open',
    );
    const won = closes.filter((e) => (e.data as Data).to_stage === 'closed_won');
    const lost = closes.filter((e) => (e.data as Data).to_stage === 'closed_lost');
    expect(won.length).toBeGreaterThan(5);
    expect(lost.length).toBeGreaterThan(5);
    expect(
      won.every((e) => (e.data as Data).status === 'won' && (e.data as Data).from_stage === 'negotiation'),
    ).toBe(true);
  });
});

describe('laziness', () => {
  it('yields the first events of a huge world at once', () => {
    const started = performance.now();
    const iterator = simulateFunnel({ seed: 1, accounts: 1_000_000, months: 24, now: NOW }).events();
    for (let i = 0; i < 10; i++) expect(iterator.next().done).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('streams 3,000 accounts x 12 months in bounded memory', () => {
    const before = process.memoryUsage().heapUsed;
    let count = 0;
    let peak = before;
    for (const _event of simulateFunnel({ seed: 3, accounts: 3000, months: 12, now: NOW }).events()) {
      count++;
      if (count % 20_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(count).toBeGreaterThan(200_000);
    // Holding all events would take several hundred MB; one account at a time stays far below that.
    expect(peak - before).toBeLessThan(150 * 1024 * 1024);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The planted truth, measured from the events alone.

interface Lead {
  createdAt: number;
  account: string;
  seniority: string;
  features: Record<LeadFeature, number>;
  sqlAt?: number;
}

interface Observed {
  leads: Lead[];
  proposals: { region: string; enteredAt: number; days: number }[];
  closed: { owner: string; segment: string; won: boolean }[];
}

function sizeBand(employees: number): string {
  return employees < 200 ? 'smb' : employees < 1000 ? 'mid_market' : 'enterprise';
}

/** One streaming pass: lead features in the 14 days after creation, proposal durations, closed deals. */
function observe(events: Iterable<CloudEvent>): Observed {
  const accounts = new Map<string, { region: string; employees: number; industry: string }>();
  const leads = new Map<string, Lead>();
  const proposalsEntered = new Map<string, number>();
  const opportunities = new Map<string, { owner: string; account: string }>();
  const observed: Observed = { leads: [], proposals: [], closed: [] };
  for (const event of events) {
    const data = event.data as Data;
    const at = Date.parse(event.time);
    const lead = data.contact?.email ? leads.get(data.contact.email) : undefined;
    const inWindow = lead !== undefined && at >= lead.createdAt && at < lead.createdAt + 14 * DAY;
    const count = (feature: LeadFeature) => {
      if (inWindow) lead.features[feature]++;
    };
    switch (event.type) {
      case 'crm.account.created':
        accounts.set(data.account.crm_id, data as any);
        break;
      case 'crm.contact.created': {
        const account = accounts.get(data.account.crm_id)!;
        const features = Object.fromEntries(LEAD_FEATURES.map((f) => [f, 0])) as Record<LeadFeature, number>;
        if (data.seniority !== 'individual') features[`seniority_${data.seniority}` as LeadFeature] = 1;
        const band = sizeBand(account.employees);
        if (band !== 'smb') features[`size_${band}` as LeadFeature] = 1;
        features.industry_fit = ['software', 'fintech', 'logistics'].includes(account.industry) ? 1 : 0;
        const created: Lead = {
          createdAt: at,
          account: data.account.crm_id,
          seniority: data.seniority,
          features,
        };
        leads.set(data.contact.email, created);
        observed.leads.push(created);
        break;
      }
      case 'web.page_viewed': {
        const path = new URL(data.url).pathname;
        if (path === '/pricing') count('pricing_views_14d');
        else if (path === '/demo' || path === '/product/tour') count('demo_page_views_14d');
        else if (path.startsWith('/blog/')) count('blog_views_14d');
        else if (path.startsWith('/docs/')) count('docs_views_14d');
        break;
      }
      case 'web.form_submitted':
        if (lead && at - lead.createdAt < 10 * 60_000) lead.features.inbound_form = 1;
        break;
      case 'email.opened':
        count('email_opens_14d');
        break;
      case 'email.replied':
        count('email_replies_14d');
        break;
      case 'meeting.held':
        count('meetings_held_14d');
        break;
      case 'call.logged':
        count('calls_logged_14d');
        break;
      case 'crm.contact.stage_changed':
        if (data.to_stage === 'sql' && lead) lead.sqlAt = at;
        break;
      case 'crm.opportunity.created':
        opportunities.set(data.opportunity.crm_id, { owner: data.owner_email, account: data.account.crm_id });
        break;
      case 'crm.opportunity.stage_changed': {
        const id = data.opportunity.crm_id;
        if (data.to_stage === 'proposal') proposalsEntered.set(id, at);
        if (data.from_stage === 'proposal' && proposalsEntered.has(id)) {
          const enteredAt = proposalsEntered.get(id)!;
          const region = accounts.get(data.account.crm_id)!.region;
          observed.proposals.push({ region, enteredAt, days: (at - enteredAt) / DAY });
        }
        if (data.status === 'won' || data.status === 'lost') {
          const opportunity = opportunities.get(id)!;
          const segment = sizeBand(accounts.get(opportunity.account)!.employees);
          observed.closed.push({ owner: opportunity.owner, segment, won: data.status === 'won' });
        }
        break;
      }
    }
  }
  return observed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Logistic regression by Newton's method (IRLS), with an intercept first. */
function fitLogistic(rows: number[][], labels: number[]): number[] {
  const p = rows[0]!.length + 1;
  let beta = new Array<number>(p).fill(0);
  for (let iteration = 0; iteration < 30; iteration++) {
    const gradient = new Array<number>(p).fill(0);
    const hessian = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    rows.forEach((row, r) => {
      const x = [1, ...row];
      const mu = 1 / (1 + Math.exp(-x.reduce((sum, v, i) => sum + v * beta[i]!, 0)));
      const w = mu * (1 - mu);
      for (let i = 0; i < p; i++) {
        gradient[i]! += (labels[r]! - mu) * x[i]!;
        for (let j = 0; j < p; j++) hessian[i]![j]! += w * x[i]! * x[j]!;
      }
    });
    for (let i = 0; i < p; i++) hessian[i]![i]! += 1e-6;
    const step = solve(hessian, gradient);
    beta = beta.map((b, i) => b + step[i]!);
    if (Math.max(...step.map(Math.abs)) < 1e-8) break;
  }
  return beta;
}

function solve(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const factor = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= n; c++) a[r]![c]! -= factor * a[col]![c]!;
    }
  }
  return a.map((row, i) => row[n]! / row[i]!);
}

describe('the planted truth', () => {
  const params = { seed: 2024, accounts: 1500, months: 12, now: NOW };
  let truth: GroundTruth;
  let withBottleneck: Observed;
  let withoutBottleneck: Observed;
  let labelled: (Lead & { y: number })[];

  beforeAll(() => {
    const world = simulateFunnel(params);
    withBottleneck = observe(world.events());
    truth = world.groundTruth;
    withoutBottleneck = observe(simulateFunnel({ ...params, bottleneck: null }).events());
    labelled = withBottleneck.leads
      .filter((l) => l.createdAt + 44 * DAY <= NOW.getTime())
      .map((l) => ({ ...l, y: l.sqlAt !== undefined && l.sqlAt <= l.createdAt + 44 * DAY ? 1 : 0 }));
  });

  it('records the lead model, the reps, the bottleneck and the seasonality', () => {
    const model = truth.leadModel;
    expect(model.drivers.map((d) => d.rank)).toEqual(model.drivers.map((_, i) => i + 1));
    expect(model.drivers[0]!.strength).toBeGreaterThan(model.drivers.at(-1)!.strength);
    expect(model.nonDrivers).toEqual(
      expect.arrayContaining(['email_opens_14d', 'blog_views_14d', 'docs_views_14d', 'calls_logged_14d']),
    );
    expect(truth.bottleneck).toMatchObject({ stage: 'proposal', region: 'EMEA', slowdownFactor: 2.5 });
    const start = Date.parse(String(truth.params['startDate']));
    const expected = start + 0.6 * (NOW.getTime() - start);
    expect(Math.abs(Date.parse(truth.bottleneck!.startDate) - expected)).toBeLessThan(1000);
    expect(truth.seasonality.enabled).toBe(true);
    expect(truth.summary.leadsLabelled).toBe(labelled.length);
    expect(truth.summary.observedSqlRate).toBeCloseTo(model.expectedSqlRate, 1);
  });

  it('converts leads with pricing views and meetings clearly more often', () => {
    const rate = (leads: { y: number }[]) => leads.reduce((s, l) => s + l.y, 0) / leads.length;
    const noPricing = labelled.filter((l) => l.features.pricing_views_14d === 0);
    const muchPricing = labelled.filter((l) => l.features.pricing_views_14d >= 2);
    expect(noPricing.length).toBeGreaterThan(300);
    expect(muchPricing.length).toBeGreaterThan(300);
    expect(rate(muchPricing)).toBeGreaterThan(2 * rate(noPricing));
    const met = labelled.filter((l) => l.features.meetings_held_14d > 0);
    const notMet = labelled.filter((l) => l.features.meetings_held_14d === 0);
    expect(rate(met)).toBeGreaterThan(2 * rate(notMet));
  });

  it('lets a logistic regression on the observable events recover the true coefficients', () => {
    const features = LEAD_FEATURES;
    const beta = fitLogistic(
      labelled.map((l) => features.map((f) => l.features[f])),
      labelled.map((l) => l.y),
    );
    const estimated = Object.fromEntries(features.map((f, i) => [f, beta[i + 1]!]));
    const strong: LeadFeature[] = [
      'pricing_views_14d',
      'demo_page_views_14d',
      'email_replies_14d',
      'meetings_held_14d',
      'industry_fit',
    ];
    for (const feature of strong) {
      expect(Math.abs(estimated[feature]! - LEAD_MODEL_COEFFICIENTS[feature]), feature).toBeLessThan(0.3);
    }
    for (const feature of truth.leadModel.nonDrivers) {
      expect(Math.abs(estimated[feature]!), feature).toBeLessThan(0.2);
    }
  });

  it('slows the proposal stage in EMEA from the start date, and only there', () => {
    const from = Date.parse(truth.bottleneck!.startDate);
    const days = (observed: Observed, emea: boolean, after: boolean) =>
      median(
        observed.proposals
          .filter((p) => (p.region === 'EMEA') === emea && p.enteredAt >= from === after)
          .map((p) => p.days),
      );
    const slowed = days(withBottleneck, true, true);
    expect(slowed).toBeGreaterThan(1.8 * days(withBottleneck, true, false));
    expect(slowed).toBeGreaterThan(1.8 * days(withBottleneck, false, true));

    const untouched = days(withoutBottleneck, true, true);
    expect(untouched / days(withoutBottleneck, false, true)).toBeGreaterThan(0.6);
    expect(untouched / days(withoutBottleneck, false, true)).toBeLessThan(1.5);
  });

  it('gives reps with a high true skill in a segment more wins there', () => {
    const skill = new Map(truth.reps.map((r) => [r.email, r.winRateMultiplier as Record<string, number>]));
    const winRate = (deals: { won: boolean }[]) => deals.filter((d) => d.won).length / deals.length;
    const combined = [...withBottleneck.closed, ...withoutBottleneck.closed];
    const strong = combined.filter((d) => skill.get(d.owner)![d.segment]! >= 1.15);
    const weak = combined.filter((d) => skill.get(d.owner)![d.segment]! <= 0.85);
    expect(strong.length).toBeGreaterThan(50);
    expect(weak.length).toBeGreaterThan(50);
    expect(winRate(strong)).toBeGreaterThan(1.3 * winRate(weak));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Through the real ingestion path.

describe('runSimulation in-process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('stores accounts, contacts, opportunities and events, with nothing quarantined', async () => {
    const db = database.db;
    const params = { seed: 21, accounts: 25, months: 6, now: NOW };
    const progress: number[] = [];
    const result = await runSimulation({
      db,
      params,
      sink: inProcessSink(db),
      batchSize: 400,
      onProgress: (p) => progress.push(p.sent),
    });
    const summary = result.groundTruth.summary;
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ reported: true, quarantined: 0, duplicate: 0, accepted: result.sent });
    expect(result.sent).toBe(summary.events);
    expect(progress.at(-1)).toBe(result.sent);

    const count = async (table: 'accounts' | 'contacts' | 'opportunities' | 'events' | 'quarantine') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count('events')).toBe(result.sent);
    expect(await count('quarantine')).toBe(0);
    expect(await count('accounts')).toBe(summary.accounts);
    expect(await count('contacts')).toBe(summary.contacts);
    expect(await count('opportunities')).toBe(summary.opportunities);

    // Owners resolve to the simulated reps; free-mail contacts still belong to their account.
    const unowned = await db.selectFrom('accounts').select('id').where('owner_id', 'is', null).execute();
    expect(unowned).toEqual([]);
    const orphans = await db.selectFrom('contacts').select('email').where('account_id', 'is', null).execute();
    expect(orphans).toEqual([]);
    const stages = await db.selectFrom('contacts').select('lifecycle_stage').distinct().execute();
    expect(stages.map((s) => s.lifecycle_stage)).toEqual(expect.arrayContaining(['lead', 'mql', 'sql']));
    const won = await db
      .selectFrom('opportunities')
      .select(['status', 'product_id', 'owner_id'])
      .where('status', '!=', 'open')
      .execute();
    expect(won.length).toBe(summary.won + summary.lost);
    expect(won.every((o) => o.product_id && o.owner_id)).toBe(true);
    const unattributed = await sql<{ n: string }>`
      select count(*) as n from events where contact_id is null and account_id is null and opportunity_id is null
        and not (payload -> 'data' -> 'contact' ? 'anonymous_id' and not (payload -> 'data' -> 'contact' ? 'email'))
    `.execute(db);
    expect(Number(unattributed.rows[0]!.n)).toBe(0);

    const run = await db
      .selectFrom('simulation_runs')
      .selectAll()
      .where('id', '=', result.runId)
      .executeTakeFirst();
    expect(run).toMatchObject({ seed: 21 });
    expect((run!.ground_truth as GroundTruth).summary.events).toBe(result.sent);

    // The same run again is all duplicates, and the company is not created twice.
    const users = await count('accounts');
    const again = await runSimulation({ db, params, sink: inProcessSink(db) });
    expect(again).toMatchObject({ accepted: 0, duplicate: result.sent, quarantined: 0 });
    expect(await count('accounts')).toBe(users);
    const reps = await db
      .selectFrom('users')
      .select('email')
      .where(sql<boolean>`'rep' = any(roles)`)
      .execute();
    expect(reps).toHaveLength(16);
  });

  it('writes the setup idempotently', async () => {
    const { setup } = simulateFunnel({ seed: 8, accounts: 1, now: NOW });
    const first = await applySimulationSetup(database.db, setup);
    const second = await applySimulationSetup(database.db, setup);
    expect(second).toEqual(first);
    const rep = setup.users.find((u) => u.roles.includes('rep'))!;
    const row = await database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', first.users[rep.email]!)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      roles: ['rep'],
      territory_id: first.territories[rep.territory!],
      team_id: first.teams[rep.team!],
      manager_id: first.users[rep.managerEmail!],
      capacity: rep.capacity,
      timezone: rep.timezone,
    });
  });
});

describe('seedDemoDataIfEmpty', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('fills an empty database quickly, and only once', async () => {
    const logger = createLogger({ logLevel: 'silent' });
    const started = performance.now();
    const result = await seedDemoDataIfEmpty({ db: database.db, logger, now: NOW });
    const elapsed = performance.now() - started;
    expect(result).not.toBeNull();
    expect(result!.quarantined).toBe(0);
    expect(result!.groundTruth.summary.opportunities).toBeGreaterThan(5);
    expect(elapsed).toBeLessThan(20_000);
    expect(await seedDemoDataIfEmpty({ db: database.db, logger, now: NOW })).toBeNull();
  });
});

describe('the other sinks', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('posts batches over HTTP to /v1/events and reports what the server did', async () => {
    const server = await startTestServer(database);
    try {
      const token = await server.tokenFor('ingest');
      const params = { seed: 31, accounts: 8, months: 3, now: NOW, source: 'sim-http' };
      const result = await runSimulation({
        db: database.db,
        params,
        sink: httpSink(server.url, token),
        batchSize: 300,
      });
      expect(result).toMatchObject({ reported: true, accepted: result.sent, duplicate: 0, quarantined: 0 });
      const stored = await database.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('source', '=', 'sim-http')
        .executeTakeFirstOrThrow();
      expect(Number(stored.n)).toBe(result.sent);
      await expect(
        runSimulation({ db: database.db, params, sink: httpSink(server.url, 'fg_not_a_token') }),
      ).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      await server.close();
    }
  });

  it('publishes every event to JetStream once, with its source and id as the message id', async () => {
    const servers = loadConfig({ defaults: { logLevel: 'silent' } }).natsUrl;
    const nc = await connect({ servers });
    const run = randomBytes(4).toString('hex');
    const stream = `FGSIM_${run}`.toUpperCase();
    const subject = `fgsim.${run}`;
    const jsm = await nc.jetstreamManager();
    await ensureStream(jsm, stream, [subject], true);
    const sink = natsSink(servers, subject);
    try {
      const params = { seed: 32, accounts: 5, months: 3, now: NOW, source: 'sim-nats' };
      const first = await runSimulation({ db: database.db, params, sink });
      expect(first.reported).toBe(false);
      expect((await jsm.streams.info(stream)).state.messages).toBe(first.sent);
      await runSimulation({ db: database.db, params, sink });
      expect((await jsm.streams.info(stream)).state.messages).toBe(first.sent);
      const message = await jsm.streams.getMessage(stream, { seq: 1 });
      const event = message.json<CloudEvent>();
      expect(message.header.get('Nats-Msg-Id')).toBe(`sim-nats:${event.id}`);
      expect(event.type).toBe('crm.account.created');
    } finally {
      await sink.close?.();
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });
});
