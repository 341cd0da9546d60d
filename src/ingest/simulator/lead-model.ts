// The known truth behind lead conversion. A lead's behaviour in the 14 days after it is created (its signals) is
// drawn first; then the chance that it becomes SQL within the following 30 days is a logistic function of
// exactly those observable signals, with the coefficients below. Signals always happen before the conversion.
// A latent intent makes the signals correlate with each other (as in life); some of them (opens, blog views,
// docs views, calls) have no effect of their own, so a model that trusts them is fooled by correlation.
import { sigmoid, type Random } from './random.ts';
import {
  ICP_INDUSTRIES,
  INDUSTRIES,
  INDUSTRY_WEIGHTS,
  SENIORITIES,
  SENIORITY_WEIGHTS,
  SIZE_BANDS,
  SIZE_BAND_INFO,
  type Industry,
  type Seniority,
  type SizeBand,
} from './reference-data.ts';

export const OBSERVATION_WINDOW_DAYS = 14;
export const CONVERSION_HORIZON_DAYS = 30;

export const LEAD_FEATURES = [
  'pricing_views_14d',
  'demo_page_views_14d',
  'email_replies_14d',
  'meetings_held_14d',
  'inbound_form',
  'seniority_c_level',
  'seniority_vp',
  'seniority_director',
  'seniority_manager',
  'size_mid_market',
  'size_enterprise',
  'industry_fit',
  'email_opens_14d',
  'blog_views_14d',
  'docs_views_14d',
  'calls_logged_14d',
] as const;
export type LeadFeature = (typeof LEAD_FEATURES)[number];
export type LeadFeatures = Record<LeadFeature, number>;

export const LEAD_MODEL_INTERCEPT = -3.6;

/** The true coefficients (log-odds per unit). Zero means: correlated with conversion, but not a cause. */
export const LEAD_MODEL_COEFFICIENTS: Record<LeadFeature, number> = {
  pricing_views_14d: 0.55,
  demo_page_views_14d: 0.45,
  email_replies_14d: 0.9,
  meetings_held_14d: 1.5,
  inbound_form: 0.5,
  seniority_c_level: 0.3,
  seniority_vp: 0.6,
  seniority_director: 0.5,
  seniority_manager: 0.25,
  size_mid_market: 0.25,
  size_enterprise: -0.35,
  industry_fit: 0.7,
  email_opens_14d: 0,
  blog_views_14d: 0,
  docs_views_14d: 0,
  calls_logged_14d: 0,
};

/** How each feature is computed from the events, so anyone can rebuild it. */
export const LEAD_FEATURE_DEFINITIONS: Record<LeadFeature, string> = {
  pricing_views_14d: 'web.page_viewed of /pricing by the contact in the 14 days after crm.contact.created',
  demo_page_views_14d: 'web.page_viewed of /demo or /product/tour by the contact in those 14 days',
  email_replies_14d: 'email.replied from the contact in those 14 days',
  meetings_held_14d: 'meeting.held with the contact in those 14 days',
  inbound_form:
    '1 when the contact submitted a web form (web.form_submitted) within minutes of being created',
  seniority_c_level: '1 when the contact seniority is c_level',
  seniority_vp: '1 when the contact seniority is vp',
  seniority_director: '1 when the contact seniority is director',
  seniority_manager: '1 when the contact seniority is manager (individual is the baseline)',
  size_mid_market: '1 when the account has 200-999 employees (smb is the baseline)',
  size_enterprise: '1 when the account has 1000+ employees',
  industry_fit: `1 when the account industry is one of ${ICP_INDUSTRIES.join(', ')}`,
  email_opens_14d: 'email.opened by the contact in those 14 days (no effect of its own)',
  blog_views_14d: 'web.page_viewed of /blog/* by the contact in those 14 days (no effect of its own)',
  docs_views_14d: 'web.page_viewed of /docs/* by the contact in those 14 days (no effect of its own)',
  calls_logged_14d: 'call.logged with the contact in those 14 days (no effect of its own)',
};

export interface LeadContext {
  /** Latent buying intent, about N(0, 1). Never observed directly. */
  intent: number;
  seniority: Seniority;
  sizeBand: SizeBand;
  industry: Industry;
}

export interface PlannedEmail {
  bounced: 'hard' | 'soft' | null;
  opened: boolean;
  clicked: boolean;
  replied: boolean;
  unsubscribed: boolean;
}

export interface PlannedMeeting {
  held: boolean;
}

/** What the lead does in its observation window: the counts of each observable signal. */
export interface LeadPlan {
  inbound: boolean;
  /** Anonymous page views before an inbound lead fills in the form. */
  anonymousViewsBefore: number;
  pricingViews: number;
  demoViews: number;
  docsViews: number;
  blogViews: number;
  otherViews: number;
  emails: PlannedEmail[];
  meetings: PlannedMeeting[];
  calls: number;
}

const WEB_ACTIVITY: Record<Seniority, number> = {
  c_level: 0.6,
  vp: 0.8,
  director: 1,
  manager: 1.1,
  individual: 1.2,
};

export function planLead(rng: Random, context: LeadContext): LeadPlan {
  const u = context.intent;
  const inbound = rng.chance(sigmoid(-0.8 + 0.6 * u));
  const web = WEB_ACTIVITY[context.seniority] * (inbound ? 1.3 : 1);
  const emails: PlannedEmail[] = [];
  const emailCount = 1 + rng.poisson(1.8);
  for (let i = 0; i < emailCount; i++) {
    const bounce = rng.chance(0.03) ? (rng.chance(0.35) ? 'hard' : 'soft') : null;
    const opened = !bounce && rng.chance(sigmoid(-0.4 + 0.7 * u));
    const clicked = opened && rng.chance(sigmoid(-1.5 + 0.5 * u));
    const replyShift = context.seniority === 'c_level' ? -0.5 : 0;
    const replied = !bounce && rng.chance(sigmoid(-2.9 + 0.8 * u + replyShift));
    const unsubscribed = opened && !replied && rng.chance(0.015);
    emails.push({ bounced: bounce, opened, clicked, replied, unsubscribed });
    // Nothing more reaches a dead or unsubscribed address.
    if (bounce === 'hard' || unsubscribed) break;
  }
  const meetings: PlannedMeeting[] = [];
  if (rng.chance(sigmoid(-2.4 + 1.0 * u + (inbound ? 0.5 : 0)))) {
    meetings.push({ held: rng.chance(0.8) });
    if (rng.chance(0.15)) meetings.push({ held: rng.chance(0.85) });
  }
  return {
    inbound,
    anonymousViewsBefore: inbound ? 1 + rng.poisson(2 * web) : 0,
    pricingViews: rng.poisson(0.55 * web * Math.exp(0.75 * u)),
    demoViews: rng.poisson(0.3 * web * Math.exp(0.85 * u)),
    docsViews: rng.poisson(0.6 * web * Math.exp(0.4 * u)),
    blogViews: rng.poisson(1.0 * web * Math.exp(0.35 * u)),
    otherViews: rng.poisson(0.8 * web),
    emails,
    meetings,
    calls: rng.poisson(0.8),
  };
}

export function leadFeatures(plan: LeadPlan, context: Omit<LeadContext, 'intent'>): LeadFeatures {
  return {
    pricing_views_14d: plan.pricingViews,
    demo_page_views_14d: plan.demoViews,
    email_replies_14d: plan.emails.filter((e) => e.replied).length,
    meetings_held_14d: plan.meetings.filter((m) => m.held).length,
    inbound_form: plan.inbound ? 1 : 0,
    seniority_c_level: context.seniority === 'c_level' ? 1 : 0,
    seniority_vp: context.seniority === 'vp' ? 1 : 0,
    seniority_director: context.seniority === 'director' ? 1 : 0,
    seniority_manager: context.seniority === 'manager' ? 1 : 0,
    size_mid_market: context.sizeBand === 'mid_market' ? 1 : 0,
    size_enterprise: context.sizeBand === 'enterprise' ? 1 : 0,
    industry_fit: ICP_INDUSTRIES.includes(context.industry) ? 1 : 0,
    email_opens_14d: plan.emails.filter((e) => e.opened).length,
    blog_views_14d: plan.blogViews,
    docs_views_14d: plan.docsViews,
    calls_logged_14d: plan.calls,
  };
}

export function sqlProbability(features: LeadFeatures): number {
  let logit = LEAD_MODEL_INTERCEPT;
  for (const feature of LEAD_FEATURES) logit += LEAD_MODEL_COEFFICIENTS[feature] * features[feature];
  return sigmoid(logit);
}

export interface DriverTruth {
  feature: LeadFeature;
  definition: string;
  coefficient: number;
  oddsRatio: number;
  /** Standard deviation of the feature among simulated leads. */
  sd: number;
  /** |coefficient| x sd: the change in log-odds for a typical difference in the feature. Ranks the drivers. */
  strength: number;
  rank: number;
}

export interface LeadModelTruth {
  target: string;
  observationWindowDays: number;
  conversionHorizonDays: number;
  intercept: number;
  /** Ranked by strength, strongest first; features with coefficient 0 come last with strength 0. */
  drivers: DriverTruth[];
  /** Features that correlate with conversion through intent but have no effect of their own. */
  nonDrivers: LeadFeature[];
  /** The mean SQL probability over a large sample of simulated leads. */
  expectedSqlRate: number;
}

/** Measures the feature spread on a large sample of leads (its own random stream) to rank the drivers. */
export function describeLeadModel(rng: Random, sampleSize = 4000): LeadModelTruth {
  const sums = Object.fromEntries(LEAD_FEATURES.map((f) => [f, { sum: 0, sumSq: 0 }])) as Record<
    LeadFeature,
    { sum: number; sumSq: number }
  >;
  let probabilitySum = 0;
  for (let i = 0; i < sampleSize; i++) {
    const context: LeadContext = {
      intent: rng.normal(),
      seniority: rng.weighted(SENIORITIES, SENIORITY_WEIGHTS),
      sizeBand: rng.weighted(
        SIZE_BANDS,
        SIZE_BANDS.map((band) => SIZE_BAND_INFO[band].weight),
      ),
      industry: rng.weighted(INDUSTRIES, INDUSTRY_WEIGHTS),
    };
    const features = leadFeatures(planLead(rng, context), context);
    probabilitySum += sqlProbability(features);
    for (const feature of LEAD_FEATURES) {
      sums[feature].sum += features[feature];
      sums[feature].sumSq += features[feature] ** 2;
    }
  }
  const drivers = LEAD_FEATURES.map((feature) => {
    const mean = sums[feature].sum / sampleSize;
    const sd = Math.sqrt(Math.max(0, sums[feature].sumSq / sampleSize - mean ** 2));
    const coefficient = LEAD_MODEL_COEFFICIENTS[feature];
    return {
      feature,
      definition: LEAD_FEATURE_DEFINITIONS[feature],
      coefficient,
      oddsRatio: round(Math.exp(coefficient), 3),
      sd: round(sd, 3),
      strength: round(Math.abs(coefficient) * sd, 3),
      rank: 0,
    };
  })
    .sort((a, b) => b.strength - a.strength || a.feature.localeCompare(b.feature))
    .map((driver, index) => ({ ...driver, rank: index + 1 }));
  return {
    target:
      'The contact reaches lifecycle stage "sql" (crm.contact.stage_changed) within 30 days after its decision ' +
      'time, which is 14 days after its crm.contact.created. Features are measured in those first 14 days.',
    observationWindowDays: OBSERVATION_WINDOW_DAYS,
    conversionHorizonDays: CONVERSION_HORIZON_DAYS,
    intercept: LEAD_MODEL_INTERCEPT,
    drivers,
    nonDrivers: LEAD_FEATURES.filter((f) => LEAD_MODEL_COEFFICIENTS[f] === 0),
    expectedSqlRate: round(probabilitySum / sampleSize, 4),
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
