// One account's whole life in the simulation: firmographics, its buying committee, each lead's behaviour and
// conversion (from the known lead model), opportunities through the stages (with the reps' true skill, the
// planted bottleneck and quarter-end pull-in), and, for customers, product usage and support tickets.
// Everything comes from the account's own random stream, so an account does not change when others do.
import type { EventType } from '../catalogue.ts';
import {
  CONVERSION_HORIZON_DAYS,
  leadFeatures,
  OBSERVATION_WINDOW_DAYS,
  planLead,
  sqlProbability,
  type LeadPlan,
  type PlannedEmail,
} from './lead-model.ts';
import { OPPORTUNITY_STAGES, type OpenOpportunityStage, type ResolvedParams } from './params.ts';
import type { Random } from './random.ts';
import {
  COMPANY_PREFIXES,
  COMPANY_SUFFIXES,
  EXPANSION_SKUS,
  FIRST_NAMES,
  FREE_MAIL_PROVIDERS,
  ICP_INDUSTRIES,
  INDUSTRIES,
  INDUSTRY_WEIGHTS,
  LAST_NAMES,
  MONTHLY_ARRIVAL_WEIGHTS,
  PRODUCT_MIX,
  PRODUCTS,
  REFERRERS,
  REGION_INFO,
  REVENUE_PER_EMPLOYEE,
  SENIORITIES,
  SENIORITY_WEIGHTS,
  SIZE_BANDS,
  SIZE_BAND_INFO,
  TICKET_CATEGORIES,
  TITLES,
  USAGE_FEATURES,
  VENDOR_SITE,
  WEB_PAGES,
  type Industry,
  type PageKind,
  type ProductInfo,
  type Region,
  type Seniority,
  type SizeBand,
} from './reference-data.ts';
import type { RepTruth } from './staff.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Median days an opportunity spends in each stage (before the size-band multiplier). */
export const STAGE_MEDIAN_DAYS: Record<OpenOpportunityStage, number> = {
  discovery: 8,
  demo: 12,
  proposal: 10,
  negotiation: 9,
};
export const STAGE_DURATION_SIGMA = 0.5;
/** Chance of moving on from each stage for an average rep (the product is the base win rate). */
export const STAGE_PASS_RATE: Record<OpenOpportunityStage, number> = {
  discovery: 0.78,
  demo: 0.72,
  proposal: 0.68,
  negotiation: 0.75,
};
export const SIZE_DURATION_MULTIPLIER: Record<SizeBand, number> = {
  smb: 0.8,
  mid_market: 1.1,
  enterprise: 1.6,
};
/** Chance that a deal which would close early in a quarter is pulled into the last days of the one before. */
export const QUARTER_END_PULL_IN = { probability: 0.5, windowDays: 25 };
const OPPORTUNITY_CHANCE = { newBusiness: 0.75, expansion: 0.5 };
/** Share of contacts on the monthly newsletter after their first two weeks. */
const NEWSLETTER_OPT_IN = 0.6;

/** Inbound leads created this close to the end of the simulation have no owner yet (routing has work to do). */
const UNROUTED_INBOUND_DAYS = 12;

export interface DraftEvent {
  at: number;
  type: EventType;
  subject?: string;
  data: Record<string, unknown>;
}

export interface WorldContext {
  params: ResolvedParams;
  rng: Random;
  idPrefix: string;
  start: number;
  horizon: number;
  regionWeights: number[];
  repsByRegion: Map<Region, RepTruth[]>;
  /** Company domains already given out; domains are identities, so two accounts must never share one. */
  usedDomains: Set<string>;
}

export interface AccountStats {
  contacts: number;
  freeMailContacts: number;
  leadsLabelled: number;
  sqlWithin30Days: number;
  opportunities: number;
  won: number;
  lost: number;
  wonAmount: number;
  customer: boolean;
}

interface AccountInfo {
  index: number;
  crmId: string;
  name: string;
  domain: string;
  industry: Industry;
  sizeBand: SizeBand;
  employees: number;
  annualRevenue: number;
  region: Region;
  country: string;
  tier: string;
  owner: RepTruth;
  createdAt: number;
  intent: number;
  utcOffset: number;
  parentCrmId: string | undefined;
}

interface ContactSim {
  k: number;
  crmId: string;
  email: string;
  freeMail: boolean;
  firstName: string;
  lastName: string;
  seniority: Seniority;
  title: string;
  department: string;
  leadAt: number;
  decisionAt: number;
  intent: number;
  plan: LeadPlan;
  anonymousId: string | undefined;
  mqlAt: number | undefined;
  sqlAt: number | undefined;
  stages: { at: number; stage: string }[];
  hardBounced: boolean;
  unsubscribed: boolean;
}

interface OpportunityMember {
  contact: ContactSim;
  role: string;
}

interface OpportunityOutcome {
  created: boolean;
  closedAt: number;
  won: boolean;
  amount: number;
  members: OpportunityMember[];
}

export function simulateAccount(
  world: WorldContext,
  index: number,
): { drafts: DraftEvent[]; stats: AccountStats } {
  return new AccountSimulation(world, index).run();
}

class AccountSimulation {
  readonly world: WorldContext;
  readonly rng: Random;
  readonly prefix: string;
  readonly drafts: DraftEvent[] = [];
  readonly stats: AccountStats = {
    contacts: 0,
    freeMailContacts: 0,
    leadsLabelled: 0,
    sqlWithin30Days: 0,
    opportunities: 0,
    won: 0,
    lost: 0,
    wonAmount: 0,
    customer: false,
  };
  readonly account: AccountInfo;
  readonly contacts: ContactSim[] = [];
  #sequence = 0;

  constructor(world: WorldContext, index: number) {
    this.world = world;
    this.rng = world.rng.fork('account', index);
    this.prefix = `${world.idPrefix}-${index}`;
    this.account = this.describeAccount(index);
  }

  run(): { drafts: DraftEvent[]; stats: AccountStats } {
    this.emitAccountCreated();
    this.createCommittee();
    for (const contact of this.contacts) {
      this.emitContactCreated(contact);
      this.emitObservationWindow(contact);
      this.decideConversion(contact);
    }
    const customerSince = this.runPipeline();
    for (const contact of this.contacts) {
      this.emitStageChanges(contact);
      this.emitNurture(contact);
    }
    if (customerSince !== undefined) this.emitCustomerLife(customerSince);
    return { drafts: this.drafts, stats: this.stats };
  }

  // ---- the account and its people ----

  describeAccount(index: number): AccountInfo {
    const { rng, world } = this;
    const region = rng.weighted(world.params.regions, world.regionWeights);
    const info = REGION_INFO[region];
    const country = rng.weighted(
      info.countries,
      info.countries.map((c) => c.weight),
    );
    const industry = rng.weighted(INDUSTRIES, INDUSTRY_WEIGHTS);
    const sizeBand = rng.weighted(
      SIZE_BANDS,
      SIZE_BANDS.map((band) => SIZE_BAND_INFO[band].weight),
    );
    const band = SIZE_BAND_INFO[sizeBand];
    const employees = Math.round(
      Math.min(band.maxEmployees, Math.max(band.minEmployees, rng.lognormal(band.medianEmployees, 0.6))),
    );
    const annualRevenue =
      Math.round((employees * rng.lognormal(REVENUE_PER_EMPLOYEE[industry], 0.35)) / 1000) * 1000;
    const { name, domain } = this.companyName(industry, country.tld);
    const fit = ICP_INDUSTRIES.includes(industry);
    const tier = fit && sizeBand !== 'smb' ? 'A' : fit || sizeBand === 'enterprise' ? 'B' : 'C';
    const reps = world.repsByRegion.get(region)!;
    const owner = rng.weighted(
      reps,
      reps.map((r) => r.capacity),
    );
    const parentCrmId =
      index > 10 && rng.chance(0.05) ? `${world.idPrefix}-a${rng.int(0, index - 1)}` : undefined;
    return {
      index,
      crmId: `${world.idPrefix}-a${index}`,
      name,
      domain,
      industry,
      sizeBand,
      employees,
      annualRevenue,
      region,
      country: country.code,
      tier,
      owner,
      createdAt: this.arrivalTime(info.utcOffset),
      intent: rng.normal(),
      utcOffset: info.utcOffset,
      parentCrmId,
    };
  }

  companyName(industry: Industry, tld: string): { name: string; domain: string } {
    for (let attempt = 0; ; attempt++) {
      const base = `${this.rng.pick(COMPANY_PREFIXES)} ${this.rng.pick(COMPANY_SUFFIXES[industry])}`;
      const name = attempt < 8 ? base : `${base} ${attempt}`;
      const domain = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '')}.${tld}`;
      if (!this.world.usedDomains.has(domain)) {
        this.world.usedDomains.add(domain);
        return { name, domain };
      }
    }
  }

  /**
   * New accounts arrive over the period (not in its last week), more in busy months when seasonality is on, and
   * more (or fewer) each quarter with a planted growth trend.
   */
  arrivalTime(utcOffset: number): number {
    const from = this.world.start;
    const to = this.world.horizon - 7 * DAY;
    const { seasonality, growthPerQuarter } = this.world.params;
    const maxWeight = Math.max(...MONTHLY_ARRIVAL_WEIGHTS);
    const quarters = (t: number) => (t - from) / (91.3 * DAY);
    const maxGrowth = Math.max(1, (1 + growthPerQuarter) ** quarters(to));
    const weightAt = (t: number) =>
      (seasonality ? MONTHLY_ARRIVAL_WEIGHTS[new Date(t).getUTCMonth()]! / maxWeight : 1) *
      (growthPerQuarter !== 0 ? (1 + growthPerQuarter) ** quarters(t) / maxGrowth : 1);
    let at = this.rng.uniform(from, to);
    for (let attempt = 0; attempt < 50 && (seasonality || growthPerQuarter !== 0); attempt++) {
      if (this.rng.chance(weightAt(at))) break;
      at = this.rng.uniform(from, to);
    }
    return this.within(from, to, at, utcOffset);
  }

  createCommittee(): void {
    const { rng, account } = this;
    const [min, max] = SIZE_BAND_INFO[account.sizeBand].committee;
    const size = rng.int(min, max);
    const usedLocalParts = new Set<string>();
    for (let k = 0; k < size; k++) {
      const leadAt =
        k === 0
          ? account.createdAt + rng.uniform(5 * MINUTE, 2 * DAY)
          : account.createdAt + 5 * MINUTE + rng.exponential(35 * DAY);
      if (leadAt > this.world.horizon) continue;
      const firstName = rng.pick(FIRST_NAMES);
      const lastName = rng.pick(LAST_NAMES);
      let local = `${firstName}.${lastName}`.toLowerCase();
      if (usedLocalParts.has(local)) local = `${local}${k}`;
      usedLocalParts.add(local);
      const freeMail = rng.chance(0.1);
      const email = freeMail
        ? `${local}${account.index}${k}@${rng.pick(FREE_MAIL_PROVIDERS)}`
        : `${local}@${account.domain}`;
      const seniority =
        k === 0 && rng.chance(0.3) ? 'director' : rng.weighted(SENIORITIES, SENIORITY_WEIGHTS);
      const role = rng.pick(TITLES[seniority]);
      const intent = 0.75 * account.intent + rng.normal(0, 0.66);
      const plan = planLead(rng, {
        intent,
        seniority,
        sizeBand: account.sizeBand,
        industry: account.industry,
      });
      this.contacts.push({
        k,
        crmId: `${this.world.idPrefix}-c${account.index}-${k}`,
        email,
        freeMail,
        firstName,
        lastName,
        seniority,
        title: role.title,
        department: role.department,
        leadAt,
        decisionAt: leadAt + OBSERVATION_WINDOW_DAYS * DAY,
        intent,
        plan,
        anonymousId: plan.inbound ? `anon-${this.prefix}-${k}` : undefined,
        mqlAt: undefined,
        sqlAt: undefined,
        stages: [{ at: leadAt, stage: 'lead' }],
        hardBounced: false,
        unsubscribed: false,
      });
      this.stats.contacts++;
      if (freeMail) this.stats.freeMailContacts++;
    }
  }

  // ---- event builders ----

  emit(at: number, type: EventType, data: Record<string, unknown>, subject?: string): void {
    if (at > this.world.horizon) return;
    this.drafts.push({ at: Math.round(at / SECOND) * SECOND, type, data, ...(subject ? { subject } : {}) });
  }

  /** The account reference activity events carry: only free-mail contacts need it (their email names no company). */
  activityRefs(contact: ContactSim, withCrmId = false): Record<string, unknown> {
    return {
      contact: withCrmId ? { crm_id: contact.crmId, email: contact.email } : { email: contact.email },
      ...(contact.freeMail ? { account: { crm_id: this.account.crmId } } : {}),
    };
  }

  crmContactRefs(contact: ContactSim): Record<string, unknown> {
    return {
      contact: { crm_id: contact.crmId, email: contact.email },
      account: { crm_id: this.account.crmId },
    };
  }

  emitAccountCreated(): void {
    const a = this.account;
    this.emit(
      a.createdAt,
      'crm.account.created',
      {
        account: { crm_id: a.crmId, domain: a.domain, name: a.name },
        industry: a.industry,
        employees: a.employees,
        annual_revenue: a.annualRevenue,
        region: a.region,
        country: a.country,
        tier: a.tier,
        owner_email: a.owner.email,
        ...(a.parentCrmId ? { parent: { crm_id: a.parentCrmId } } : {}),
        attributes: { website: `https://www.${a.domain}`, size_band: a.sizeBand },
      },
      `account/${a.crmId}`,
    );
  }

  emitContactCreated(contact: ContactSim): void {
    const { rng, account } = this;
    if (contact.anonymousId) {
      // The visitor browses before anyone knows who they are; the form submit links the cookie to the email.
      const from = Math.max(account.createdAt + MINUTE, contact.leadAt - 7 * DAY);
      for (let i = 0; i < contact.plan.anonymousViewsBefore; i++) {
        const page = this.page(
          rng.weighted(['pricing', 'blog', 'other', 'docs'] as PageKind[], [1, 2, 2, 1]),
        );
        this.emit(rng.uniform(from, contact.leadAt), 'web.page_viewed', {
          contact: { anonymous_id: contact.anonymousId },
          url: page.url,
          title: page.title,
          referrer: rng.pick(REFERRERS),
        });
      }
    }
    this.emit(
      contact.leadAt,
      'crm.contact.created',
      {
        ...this.crmContactRefs(contact),
        first_name: contact.firstName,
        last_name: contact.lastName,
        title: contact.title,
        seniority: contact.seniority,
        department: contact.department,
        lifecycle_stage: 'lead',
        // Inbound leads of the last few days wait for the routing agent, as new form fills do in a real CRM.
        ...(contact.plan.inbound && contact.leadAt > this.world.horizon - UNROUTED_INBOUND_DAYS * DAY
          ? {}
          : { owner_email: account.owner.email }),
        country: account.country,
        attributes: { lead_source: contact.plan.inbound ? 'inbound' : 'outbound' },
      },
      `contact/${contact.crmId}`,
    );
    if (contact.anonymousId) {
      const form = rng.pick(['contact_sales', 'demo_request', 'whitepaper_download']);
      this.emit(contact.leadAt + rng.uniform(30 * SECOND, 3 * MINUTE), 'web.form_submitted', {
        contact: { email: contact.email, anonymous_id: contact.anonymousId },
        ...(contact.freeMail ? { account: { crm_id: account.crmId } } : {}),
        url: `${VENDOR_SITE}/forms/${form.replace(/_/g, '-')}`,
        title: 'Get in touch',
        form,
        fields: {
          first_name: contact.firstName,
          last_name: contact.lastName,
          company: account.name,
          job_title: contact.title,
          country: account.country,
        },
      });
    }
  }

  page(kind: PageKind): { url: string; title: string } {
    const page = this.rng.pick<{ path: string; title: string }>(WEB_PAGES[kind]);
    return { url: `${VENDOR_SITE}${page.path}`, title: page.title };
  }

  webView(contact: ContactSim, at: number, kind: PageKind): void {
    const page = this.page(kind);
    this.emit(at, 'web.page_viewed', {
      contact: contact.anonymousId
        ? { email: contact.email, anonymous_id: contact.anonymousId }
        : { email: contact.email },
      ...(contact.freeMail ? { account: { crm_id: this.account.crmId } } : {}),
      url: page.url,
      title: page.title,
      ...(this.rng.chance(0.3) ? { referrer: this.rng.pick(REFERRERS) } : {}),
    });
  }

  /** The signals the lead model counts, all strictly inside [leadAt, decisionAt). */
  emitObservationWindow(contact: ContactSim): void {
    const { rng } = this;
    const { plan, leadAt, decisionAt } = contact;
    const viewFrom = leadAt + 5 * MINUTE;
    const views: [PageKind, number][] = [
      ['pricing', plan.pricingViews],
      ['demo', plan.demoViews],
      ['docs', plan.docsViews],
      ['blog', plan.blogViews],
      ['other', plan.otherViews],
    ];
    for (const [kind, count] of views) {
      for (let i = 0; i < count; i++) this.webView(contact, rng.uniform(viewFrom, decisionAt - MINUTE), kind);
    }
    const sends = plan.emails
      .map(() => this.between(leadAt + 10 * MINUTE, decisionAt - 2 * DAY))
      .sort((a, b) => a - b);
    plan.emails.forEach((planned, i) => {
      this.emailChain(contact, sends[i]!, planned, {
        campaign: 'sdr-sequence',
        subject: `${contact.firstName}, a quick idea for ${this.account.name}`,
        url: `${VENDOR_SITE}/blog/revops-metrics`,
      });
    });
    for (const planned of plan.meetings) {
      const booked = this.between(leadAt + HOUR, leadAt + 8 * DAY);
      let scheduled = this.between(booked + DAY, booked + 4 * DAY);
      if (scheduled > decisionAt - 2 * HOUR) scheduled = decisionAt - 2 * HOUR;
      this.meeting(contact, booked, scheduled, planned.held, 30, undefined);
    }
    for (let i = 0; i < plan.calls; i++)
      this.call(contact, this.between(leadAt + 30 * MINUTE, decisionAt - HOUR));
  }

  emailChain(
    contact: ContactSim,
    sentAt: number,
    planned: PlannedEmail,
    meta: { campaign?: string; subject: string; url: string },
  ): number | undefined {
    if (contact.hardBounced || contact.unsubscribed) return undefined;
    const { rng } = this;
    const base = {
      ...this.activityRefs(contact),
      message_id: `<${this.prefix}-${++this.#sequence}@mail.revenue-platform.example>`,
      ...(meta.campaign ? { campaign: meta.campaign } : {}),
      subject: meta.subject,
    };
    this.emit(sentAt, 'email.sent', base);
    if (planned.bounced) {
      this.emit(sentAt + rng.uniform(10 * SECOND, 5 * MINUTE), 'email.bounced', {
        ...base,
        bounce_type: planned.bounced,
      });
      if (planned.bounced === 'hard') contact.hardBounced = true;
      return undefined;
    }
    const deliveredAt = sentAt + rng.uniform(5 * SECOND, 2 * MINUTE);
    this.emit(deliveredAt, 'email.delivered', base);
    let lastSeen = deliveredAt;
    if (planned.opened) {
      const openedAt = deliveredAt + MINUTE + Math.min(rng.lognormal(3 * HOUR, 1), 20 * HOUR);
      this.emit(openedAt, 'email.opened', base);
      lastSeen = openedAt;
      if (planned.clicked) {
        this.emit(openedAt + rng.uniform(10 * SECOND, 5 * MINUTE), 'email.clicked', {
          ...base,
          url: meta.url,
        });
      }
      if (planned.unsubscribed) {
        this.emit(openedAt + rng.uniform(6 * MINUTE, 10 * MINUTE), 'email.unsubscribed', base);
        contact.unsubscribed = true;
      }
    }
    if (planned.replied) {
      const repliedAt = lastSeen + 10 * MINUTE + Math.min(rng.lognormal(6 * HOUR, 0.8), 24 * HOUR);
      this.emit(repliedAt, 'email.replied', base);
      return repliedAt;
    }
    return lastSeen;
  }

  meeting(
    contact: ContactSim,
    bookedAt: number,
    scheduledFor: number,
    held: boolean,
    minutes: number,
    opportunityCrmId: string | undefined,
    meetingId = `${this.prefix}-m${++this.#sequence}`,
  ): void {
    const data = {
      ...this.activityRefs(contact, true),
      meeting_id: meetingId,
      scheduled_for: new Date(Math.round(scheduledFor / SECOND) * SECOND).toISOString(),
      duration_minutes: minutes,
      ...(opportunityCrmId ? { opportunity: { crm_id: opportunityCrmId } } : {}),
    };
    this.emit(bookedAt, 'meeting.booked', data);
    this.emit(
      scheduledFor + (held ? minutes * MINUTE : 15 * MINUTE),
      held ? 'meeting.held' : 'meeting.no_show',
      data,
    );
  }

  call(contact: ContactSim, at: number): void {
    const { rng } = this;
    const outcome = rng.weighted(['connected', 'voicemail', 'no_answer'], [0.35, 0.35, 0.3]);
    this.emit(at, 'call.logged', {
      ...this.activityRefs(contact, true),
      direction: rng.chance(0.9) ? 'outbound' : 'inbound',
      duration_seconds: outcome === 'connected' ? Math.round(rng.lognormal(420, 0.6)) : rng.int(10, 60),
      outcome,
    });
  }

  // ---- conversion and the pipeline ----

  decideConversion(contact: ContactSim): void {
    const { rng, account } = this;
    const features = leadFeatures(contact.plan, {
      seniority: contact.seniority,
      sizeBand: account.sizeBand,
      industry: account.industry,
    });
    const probability = sqlProbability(features);
    const horizonEnd = contact.decisionAt + CONVERSION_HORIZON_DAYS * DAY;
    if (rng.chance(probability)) {
      contact.sqlAt = this.between(contact.decisionAt + HOUR, horizonEnd - HOUR);
      contact.mqlAt = this.between(contact.decisionAt + 10 * MINUTE, contact.sqlAt - 10 * MINUTE);
      contact.stages.push({ at: contact.mqlAt, stage: 'mql' }, { at: contact.sqlAt, stage: 'sql' });
    } else if (rng.chance(Math.min(0.5, 1.5 * probability + 0.05))) {
      contact.mqlAt = this.between(contact.decisionAt + DAY, horizonEnd);
      contact.stages.push({ at: contact.mqlAt, stage: 'mql' });
    }
    if (horizonEnd <= this.world.horizon) {
      this.stats.leadsLabelled++;
      if (contact.sqlAt !== undefined) this.stats.sqlWithin30Days++;
    }
  }

  /** Returns when the account became a customer (its first won deal), if it did. */
  runPipeline(): number | undefined {
    const { rng } = this;
    const qualified = this.contacts
      .filter((c) => c.sqlAt !== undefined && c.sqlAt <= this.world.horizon)
      .sort((a, b) => a.sqlAt! - b.sqlAt!);
    let busyUntil = -Infinity;
    let customerSince: number | undefined;
    for (const champion of qualified) {
      const sqlAt = champion.sqlAt!;
      if (sqlAt < busyUntil) continue;
      const expansion = customerSince !== undefined && sqlAt > customerSince;
      if (!rng.chance(expansion ? OPPORTUNITY_CHANCE.expansion : OPPORTUNITY_CHANCE.newBusiness)) continue;
      const outcome = this.runOpportunity(champion, expansion);
      if (!outcome.created) break;
      busyUntil = outcome.closedAt;
      if (outcome.won && outcome.closedAt <= this.world.horizon) {
        customerSince ??= outcome.closedAt;
        for (const member of outcome.members) this.moveStage(member.contact, outcome.closedAt, 'customer');
      }
    }
    if (customerSince !== undefined) this.stats.customer = true;
    return customerSince;
  }

  moveStage(contact: ContactSim, at: number, stage: string): void {
    const current = contact.stages[contact.stages.length - 1]!;
    if (current.stage === stage || current.stage === 'customer' || at < current.at) return;
    contact.stages.push({ at, stage });
  }

  runOpportunity(champion: ContactSim, expansion: boolean): OpportunityOutcome {
    const { rng, account, world } = this;
    const createdAt = this.between(
      champion.sqlAt! + HOUR,
      champion.sqlAt! + HOUR + rng.lognormal(3 * DAY, 0.6),
    );
    if (createdAt > world.horizon)
      return { created: false, closedAt: Infinity, won: false, amount: 0, members: [] };
    const number = this.stats.opportunities + 1;
    const crmId = `${world.idPrefix}-o${account.index}-${number}`;
    const product = this.chooseProduct(expansion);
    const mix = PRODUCT_MIX[account.sizeBand];
    let amount = roundTo(
      product.list_price * (expansion ? rng.lognormal(1, 0.25) : rng.lognormal(mix.seats[0], mix.seats[1])),
      100,
    );
    const members = this.opportunityMembers(champion, createdAt);
    const sizeMultiplier = SIZE_DURATION_MULTIPLIER[account.sizeBand] * (expansion ? 0.6 : 1);
    const expectedDays =
      OPPORTUNITY_STAGES.reduce((sum, s) => sum + STAGE_MEDIAN_DAYS[s], 0) * sizeMultiplier;
    const subject = `opportunity/${crmId}`;
    this.emit(
      createdAt,
      'crm.opportunity.created',
      {
        opportunity: { crm_id: crmId },
        name: `${account.name} - ${product.name}`,
        account: { crm_id: account.crmId },
        product_sku: product.sku,
        product_name: product.name,
        stage: 'discovery',
        status: 'open',
        amount,
        currency: 'USD',
        owner_email: account.owner.email,
        opened_at: new Date(Math.round(createdAt / SECOND) * SECOND).toISOString(),
        expected_close_date: new Date(createdAt + expectedDays * DAY).toISOString().slice(0, 10),
        contacts: members.map((m) => ({
          contact: { crm_id: m.contact.crmId, email: m.contact.email },
          role: m.role,
        })),
        attributes: { kind: expansion ? 'expansion' : 'new_business' },
      },
      subject,
    );
    this.stats.opportunities++;
    this.moveStage(champion, createdAt, 'opportunity');

    const skill = account.owner.winRateMultiplier[account.sizeBand];
    const bottleneck = world.params.bottleneck;
    let enteredAt = createdAt;
    for (const [i, stage] of OPPORTUNITY_STAGES.entries()) {
      let duration = rng.lognormal(STAGE_MEDIAN_DAYS[stage] * sizeMultiplier, STAGE_DURATION_SIGMA) * DAY;
      let pass = Math.min(0.97, STAGE_PASS_RATE[stage] * skill ** 0.25);
      if (
        bottleneck &&
        bottleneck.stage === stage &&
        bottleneck.region === account.region &&
        enteredAt >= bottleneck.startDate.getTime()
      ) {
        duration *= bottleneck.slowdownFactor;
        pass *= bottleneck.conversionFactor;
      }
      let exitAt = enteredAt + duration;
      if (stage === 'negotiation' && world.params.seasonality)
        exitAt = this.quarterEndPullIn(enteredAt, exitAt);
      this.stageActivities(stage, enteredAt, exitAt, crmId, members);
      const advanced = rng.chance(pass);
      const next = !advanced
        ? 'closed_lost'
        : stage === 'negotiation'
          ? 'closed_won'
          : OPPORTUNITY_STAGES[i + 1]!;
      const status = next === 'closed_won' ? 'won' : next === 'closed_lost' ? 'lost' : 'open';
      let amountChanged = false;
      if (next === 'proposal' || next === 'closed_won') {
        amount = roundTo(amount * (next === 'proposal' ? rng.uniform(0.9, 1.1) : rng.uniform(0.85, 1)), 100);
        amountChanged = true;
      }
      this.emit(
        exitAt,
        'crm.opportunity.stage_changed',
        {
          opportunity: { crm_id: crmId },
          account: { crm_id: account.crmId },
          from_stage: stage,
          to_stage: next,
          status,
          ...(amountChanged ? { amount } : {}),
        },
        subject,
      );
      if (status !== 'open') {
        if (exitAt <= world.horizon) {
          if (status === 'won') {
            this.stats.won++;
            this.stats.wonAmount += amount;
          } else {
            this.stats.lost++;
          }
        }
        return { created: true, closedAt: exitAt, won: status === 'won', amount, members };
      }
      enteredAt = exitAt;
    }
    throw new Error('unreachable: the last stage always closes the opportunity');
  }

  chooseProduct(expansion: boolean): ProductInfo {
    const mix = PRODUCT_MIX[this.account.sizeBand];
    const sku = expansion ? this.rng.pick(EXPANSION_SKUS) : this.rng.weighted(mix.skus, mix.weights);
    return PRODUCTS.find((p) => p.sku === sku)!;
  }

  /** The champion and the colleagues whose own lead journey has played out by the time the deal opens. */
  opportunityMembers(champion: ContactSim, createdAt: number): OpportunityMember[] {
    const seats = { smb: 1, mid_market: 2, enterprise: 3 }[this.account.sizeBand];
    const rank = (c: ContactSim) => SENIORITIES.indexOf(c.seniority);
    const others = this.contacts
      .filter((c) => c !== champion && journeyResolvedBy(c, createdAt))
      .sort((a, b) => rank(a) - rank(b) || a.k - b.k)
      .slice(0, seats);
    return [
      { contact: champion, role: 'champion' },
      ...others.map((contact, i) => ({
        contact,
        role: i === 0 ? 'decision_maker' : contact.department === 'finance' ? 'economic_buyer' : 'influencer',
      })),
    ];
  }

  /** Deals that would close early in a quarter are often pushed into the last days of the quarter before. */
  quarterEndPullIn(enteredAt: number, exitAt: number): number {
    const exit = new Date(exitAt);
    const quarterStart = Date.UTC(exit.getUTCFullYear(), Math.floor(exit.getUTCMonth() / 3) * 3, 1);
    if (exitAt - quarterStart > QUARTER_END_PULL_IN.windowDays * DAY) return exitAt;
    const from = Math.max(enteredAt + DAY, quarterStart - 10 * DAY);
    if (from >= quarterStart - HOUR || !this.rng.chance(QUARTER_END_PULL_IN.probability)) return exitAt;
    return this.rng.uniform(from, quarterStart - HOUR);
  }

  stageActivities(
    stage: OpenOpportunityStage,
    enteredAt: number,
    exitAt: number,
    opportunityCrmId: string,
    members: OpportunityMember[],
  ): void {
    const { rng } = this;
    const span = exitAt - enteredAt;
    if (span < 4 * HOUR) return;
    const champion = members[0]!.contact;
    const at = (from: number, to: number) => this.between(enteredAt + span * from, enteredAt + span * to);
    switch (stage) {
      case 'discovery': {
        this.meeting(champion, at(0, 0.1), at(0.2, 0.6), rng.chance(0.9), 45, opportunityCrmId);
        break;
      }
      case 'demo': {
        const meetingId = `${this.prefix}-m${++this.#sequence}`;
        const booked = at(0, 0.15);
        const scheduled = at(0.3, 0.7);
        for (const member of members.slice(0, 2)) {
          this.meeting(member.contact, booked, scheduled, rng.chance(0.9), 60, opportunityCrmId, meetingId);
        }
        if (rng.chance(0.3)) {
          for (let day = 0, n = rng.int(2, 5); day < n; day++) {
            this.emit(at(0.3 + day * 0.1, 0.4 + day * 0.1), 'product.usage', {
              ...this.activityRefs(champion),
              feature: rng.pick(USAGE_FEATURES),
              quantity: rng.int(1, 30),
            });
          }
        }
        break;
      }
      case 'proposal': {
        this.emailChain(
          champion,
          at(0, 0.2),
          {
            bounced: null,
            opened: rng.chance(0.9),
            clicked: false,
            replied: rng.chance(0.6),
            unsubscribed: false,
          },
          { subject: 'Your proposal', url: `${VENDOR_SITE}/pricing` },
        );
        if (rng.chance(0.7)) this.call(champion, at(0.3, 0.9));
        break;
      }
      case 'negotiation': {
        for (let i = 0, n = rng.int(1, 2); i < n; i++) this.call(rng.pick(members).contact, at(0.1, 0.9));
        if (rng.chance(0.5)) {
          this.emailChain(
            champion,
            at(0.1, 0.5),
            { bounced: null, opened: true, clicked: false, replied: rng.chance(0.7), unsubscribed: false },
            { subject: 'Contract and order form', url: `${VENDOR_SITE}/legal/terms` },
          );
        }
        break;
      }
    }
  }

  // ---- after the decision ----

  emitStageChanges(contact: ContactSim): void {
    for (let i = 1; i < contact.stages.length; i++) {
      const from = contact.stages[i - 1]!;
      const to = contact.stages[i]!;
      this.emit(
        to.at,
        'crm.contact.stage_changed',
        { ...this.crmContactRefs(contact), from_stage: from.stage, to_stage: to.stage },
        `contact/${contact.crmId}`,
      );
    }
  }

  /** A monthly newsletter after the observation window (for those on the list), until the address dies or unsubscribes. */
  emitNurture(contact: ContactSim): void {
    const { rng } = this;
    if (!rng.chance(NEWSLETTER_OPT_IN)) return;
    for (
      let sentAt = this.between(contact.decisionAt + 2 * DAY, contact.decisionAt + 20 * DAY);
      sentAt <= this.world.horizon && !contact.hardBounced && !contact.unsubscribed;
      sentAt = this.between(sentAt + 27 * DAY, sentAt + 33 * DAY)
    ) {
      const bounced = rng.chance(0.01) ? (rng.chance(0.4) ? 'hard' : 'soft') : null;
      const opened = !bounced && rng.chance(0.3 + 0.15 * Math.tanh(contact.intent));
      const clicked = opened && rng.chance(0.15);
      const month = new Date(sentAt).toISOString().slice(0, 7);
      const readAt = this.emailChain(
        contact,
        sentAt,
        { bounced, opened, clicked, replied: false, unsubscribed: opened && rng.chance(0.01) },
        {
          campaign: `newsletter-${month}`,
          subject: `What's new in ${month}`,
          url: `${VENDOR_SITE}/blog/pipeline-hygiene`,
        },
      );
      if (clicked && readAt !== undefined) this.webView(contact, readAt + 5 * MINUTE, 'blog');
    }
  }

  emitCustomerLife(customerSince: number): void {
    const { rng, world } = this;
    const people = this.contacts.filter((c) => c.stages.some((s) => s.stage === 'customer')).slice(0, 2);
    if (people.length === 0) return;
    const activity = rng.lognormal(1, 0.5);
    for (let week = customerSince + rng.uniform(3 * DAY, 10 * DAY); week <= world.horizon; week += 7 * DAY) {
      for (const person of people) {
        if (!rng.chance(0.85)) continue;
        this.emit(week + rng.uniform(0, DAY), 'product.usage', {
          ...this.activityRefs(person),
          feature: rng.pick(USAGE_FEATURES),
          quantity: 1 + rng.poisson(20 * activity),
        });
      }
    }
    let tickets = 0;
    for (
      let at = customerSince + rng.exponential(45 * DAY);
      at <= world.horizon;
      at += rng.exponential(45 * DAY)
    ) {
      const person = rng.pick(people);
      const base = {
        ...this.activityRefs(person),
        ticket_id: `${this.prefix}-t${++tickets}`,
        priority: rng.weighted(['low', 'normal', 'high', 'urgent'], [0.3, 0.5, 0.15, 0.05]),
        category: rng.pick(TICKET_CATEGORIES),
      };
      const openedAt = this.within(at, at + 2 * DAY, at);
      const closedAt = openedAt + HOUR + rng.lognormal(2 * DAY, 0.8);
      this.emit(openedAt, 'support.ticket_opened', { ...base, status: 'open' });
      for (let i = 0, n = rng.int(0, 2); i < n; i++) {
        this.emit(rng.uniform(openedAt + MINUTE, closedAt - MINUTE), 'support.ticket_updated', {
          ...base,
          status: 'pending',
        });
      }
      this.emit(closedAt, 'support.ticket_closed', { ...base, status: 'closed' });
    }
  }

  // ---- time helpers ----

  /** A time in [from, to], in the account's business hours when that keeps it inside the range. */
  between(from: number, to: number): number {
    if (to <= from) return from;
    return this.within(from, to, this.rng.uniform(from, to));
  }

  within(from: number, to: number, at: number, utcOffset = this.account?.utcOffset ?? 0): number {
    const snapped = businessHours(at, utcOffset, this.rng);
    return snapped >= from && snapped <= to ? snapped : at;
  }
}

/** Moves a time to a weekday between 09:00 and 17:30 local time (same day, or the following Monday). */
function businessHours(at: number, utcOffset: number, rng: Random): number {
  const local = at + utcOffset * HOUR;
  let day = Math.floor(local / DAY);
  const weekday = (day + 4) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  if (weekday === 6) day += 2;
  if (weekday === 0) day += 1;
  return day * DAY + rng.uniform(9 * HOUR, 17.5 * HOUR) - utcOffset * HOUR;
}

function journeyResolvedBy(contact: ContactSim, at: number): boolean {
  if (contact.leadAt > at) return false;
  if (contact.sqlAt !== undefined) return contact.sqlAt <= at;
  return contact.decisionAt + CONVERSION_HORIZON_DAYS * DAY <= at;
}

function roundTo(value: number, step: number): number {
  return Math.max(step, Math.round(value / step) * step);
}
