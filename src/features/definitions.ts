// Feature definitions as code. A definition is (name, version): changing its computation means adding a new
// version and keeping the old one here, so models trained on the old version stay reproducible. At start-up
// the hash of every computation is checked against what the database recorded for that version.
//
// All contact features are computed for pairs (p.contact_id, p.as_of) and only look at events that occurred
// before p.as_of and at stage changes before p.as_of: a value is what was knowable at that moment.
// `event` features are aggregate expressions over the contact's events `e` in the window (joined once);
// `scalar` features are SQL expressions over p, c (the contact) and a (its account).

export type FeatureKind = 'event' | 'scalar' | 'graph';
export type FeatureType = 'number' | 'category';

export interface FeatureDefinition {
  name: string;
  version: number;
  entity: 'contact';
  kind: FeatureKind;
  type: FeatureType;
  description: string;
  windowDays: number | null;
  /** SQL for event/scalar features; for graph features, the name of the contact's graph feature. */
  sql: string;
  /** The value in business language, for explanations: "visited pricing 3 times in 14 days". */
  phrase: (value: number | string | null) => string;
}

const ENGAGEMENT = `e.type in ('email.opened','email.clicked','email.replied','web.page_viewed','web.form_submitted','meeting.booked','meeting.held','call.logged')`;
const inWindow = (days: number) => `e.occurred_at >= p.as_of - interval '${days} days'`;
const n = (value: number | string | null) =>
  value === null ? 'unknown' : Number(value).toLocaleString('en-US', { maximumFractionDigits: 1 });
const pct = (value: number | string | null) =>
  value === null ? 'no emails yet' : `${Math.round(Number(value) * 100)} %`;

export const FEATURE_DEFINITIONS: FeatureDefinition[] = [
  ...[7, 28, 90].map((days): FeatureDefinition => ({
    name: `touches_${days}d`,
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: `Engagement events (opens, clicks, replies, page views, forms, meetings, calls) in the last ${days} days`,
    windowDays: days,
    sql: `count(*) filter (where ${ENGAGEMENT} and ${inWindow(days)})`,
    phrase: (v) => `${n(v)} engagements in the last ${days} days`,
  })),
  {
    name: 'engagement_trend',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description:
      'Engagement velocity: last 7 days per day divided by last 28 days per day (1 = steady, >1 = accelerating)',
    windowDays: 28,
    sql: `(count(*) filter (where ${ENGAGEMENT} and ${inWindow(7)}) / 7.0 + 0.05) / (count(*) filter (where ${ENGAGEMENT} and ${inWindow(28)}) / 28.0 + 0.05)`,
    phrase: (v) =>
      v === null
        ? 'no engagement trend'
        : Number(v) >= 1
          ? `engagement accelerating (${n(v)}x)`
          : `engagement slowing (${n(v)}x)`,
  },
  {
    name: 'days_since_last_touch',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Days since the last engagement event (empty when none in 180 days)',
    windowDays: 180,
    sql: `extract(epoch from p.as_of - max(e.occurred_at) filter (where ${ENGAGEMENT})) / 86400.0`,
    phrase: (v) => (v === null ? 'no engagement in 180 days' : `last engaged ${n(v)} days ago`),
  },
  {
    name: 'emails_sent_90d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Emails sent to the contact in the last 90 days',
    windowDays: 90,
    sql: `count(*) filter (where e.type = 'email.sent' and ${inWindow(90)})`,
    phrase: (v) => `${n(v)} emails sent in 90 days`,
  },
  {
    name: 'email_reply_rate_90d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Replies per email sent, last 90 days (empty when nothing was sent)',
    windowDays: 90,
    sql: `(count(*) filter (where e.type = 'email.replied' and ${inWindow(90)}))::float8 / nullif(count(*) filter (where e.type = 'email.sent' and ${inWindow(90)}), 0)`,
    phrase: (v) => `replied to ${pct(v)} of emails in 90 days`,
  },
  {
    name: 'email_click_rate_90d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Clicks per email sent, last 90 days (empty when nothing was sent)',
    windowDays: 90,
    sql: `(count(*) filter (where e.type = 'email.clicked' and ${inWindow(90)}))::float8 / nullif(count(*) filter (where e.type = 'email.sent' and ${inWindow(90)}), 0)`,
    phrase: (v) => `clicked ${pct(v)} of emails in 90 days`,
  },
  {
    name: 'pricing_views_14d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Views of pricing pages in the last 14 days (web intent)',
    windowDays: 14,
    sql: `count(*) filter (where e.type = 'web.page_viewed' and e.payload->'data'->>'url' ilike '%pricing%' and ${inWindow(14)})`,
    phrase: (v) => `visited pricing ${n(v)} times in 14 days`,
  },
  {
    name: 'demo_intent_28d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Views of demo / product-tour pages and demo forms in the last 28 days (web intent)',
    windowDays: 28,
    sql: `count(*) filter (where e.type in ('web.page_viewed','web.form_submitted') and (e.payload->'data'->>'url' ilike '%demo%' or e.payload->'data'->>'url' ilike '%tour%') and ${inWindow(28)})`,
    phrase: (v) => `looked at the demo or product tour ${n(v)} times in 28 days`,
  },
  {
    name: 'forms_90d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Forms submitted in the last 90 days',
    windowDays: 90,
    sql: `count(*) filter (where e.type = 'web.form_submitted' and ${inWindow(90)})`,
    phrase: (v) => `submitted ${n(v)} forms in 90 days`,
  },
  {
    name: 'meetings_held_90d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Meetings held in the last 90 days',
    windowDays: 90,
    sql: `count(*) filter (where e.type = 'meeting.held' and ${inWindow(90)})`,
    phrase: (v) => `${n(v)} meetings held in 90 days`,
  },
  {
    name: 'no_shows_90d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Meetings missed in the last 90 days',
    windowDays: 90,
    sql: `count(*) filter (where e.type = 'meeting.no_show' and ${inWindow(90)})`,
    phrase: (v) => `missed ${n(v)} meetings in 90 days`,
  },
  {
    name: 'calls_28d',
    version: 1,
    entity: 'contact',
    kind: 'event',
    type: 'number',
    description: 'Calls logged in the last 28 days',
    windowDays: 28,
    sql: `count(*) filter (where e.type = 'call.logged' and ${inWindow(28)})`,
    phrase: (v) => `${n(v)} calls in 28 days`,
  },
  {
    name: 'seniority',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'category',
    description: 'Seniority from the CRM (c_level, vp, director, manager, individual)',
    windowDays: null,
    sql: `c.seniority`,
    phrase: (v) => (v ? `seniority: ${String(v).replace('_', ' ')}` : 'seniority unknown'),
  },
  {
    name: 'department',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'category',
    description: 'Department from the CRM',
    windowDays: null,
    sql: `c.department`,
    phrase: (v) => (v ? `works in ${departmentName(String(v))}` : 'department unknown'),
  },
  {
    name: 'lifecycle_stage',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'category',
    description: 'Lifecycle stage as of the moment (from stage history)',
    windowDays: null,
    sql: `coalesce((select h.to_stage from contact_stage_history h where h.contact_id = p.contact_id and h.changed_at < p.as_of order by h.changed_at desc limit 1), 'lead')`,
    phrase: (v) => `stage ${v ?? 'lead'}`,
  },
  {
    name: 'days_in_stage',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'number',
    description:
      'Days in the current lifecycle stage as of the moment (since the first event when no stage change is known)',
    windowDays: null,
    sql: `extract(epoch from p.as_of - coalesce((select max(h.changed_at) from contact_stage_history h where h.contact_id = p.contact_id and h.changed_at < p.as_of), (select min(e2.occurred_at) from events e2 where e2.contact_id = p.contact_id))) / 86400.0`,
    phrase: (v) => `${n(v)} days in the current stage`,
  },
  {
    name: 'account_employees',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'number',
    description: "The account's employees (firmographic; as currently known)",
    windowDays: null,
    sql: `a.employees::float8`,
    phrase: (v) => (v === null ? 'company size unknown' : `company of ${n(v)} employees`),
  },
  {
    name: 'account_size_band',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'category',
    description: 'smb / mid_market / enterprise (firmographic fit)',
    windowDays: null,
    sql: `a.size_band`,
    phrase: (v) => (v ? `${String(v).replace('_', '-')} company` : 'company size unknown'),
  },
  {
    name: 'account_industry',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'category',
    description: "The account's industry (firmographic fit)",
    windowDays: null,
    sql: `a.industry`,
    phrase: (v) => (v ? `in ${v}` : 'industry unknown'),
  },
  {
    name: 'account_age_days',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'number',
    description: 'Days since the first event at the account (account maturity)',
    windowDays: null,
    sql: `extract(epoch from p.as_of - (select min(e2.occurred_at) from events e2 where e2.account_id = a.id and e2.occurred_at < p.as_of)) / 86400.0`,
    phrase: (v) => (v === null ? 'new account' : `account known for ${n(v)} days`),
  },
  {
    name: 'account_contacts',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'number',
    description: 'Contacts at the account seen before the moment',
    windowDays: null,
    sql: `(select count(distinct e2.contact_id) from events e2 where e2.account_id = a.id and e2.occurred_at < p.as_of)::float8`,
    phrase: (v) => `${n(v)} people from the account engaged so far`,
  },
  {
    name: 'account_open_opportunities',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'number',
    description: 'Open opportunities at the account at the moment',
    windowDays: null,
    sql: `(select count(*) from opportunities o where o.account_id = a.id and o.opened_at < p.as_of and (o.closed_at is null or o.closed_at >= p.as_of))::float8`,
    phrase: (v) => `${n(v)} open opportunities at the account`,
  },
  {
    name: 'committee_coverage_90d',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'number',
    description:
      'Distinct seniorities among the account contacts who engaged in the last 90 days (buying-committee coverage)',
    windowDays: 90,
    sql: `(select count(distinct c2.seniority) from events e2 join contacts c2 on c2.id = e2.contact_id where e2.account_id = a.id and e2.occurred_at < p.as_of and e2.occurred_at >= p.as_of - interval '90 days' and c2.seniority is not null)::float8`,
    phrase: (v) => `${n(v)} levels of the buying committee engaged in 90 days`,
  },
  {
    name: 'support_tickets_90d',
    version: 1,
    entity: 'contact',
    kind: 'scalar',
    type: 'number',
    description: 'Support tickets opened by the account in the last 90 days (support load)',
    windowDays: 90,
    sql: `(select count(*) from events e2 where e2.account_id = a.id and e2.type = 'support.ticket_opened' and e2.occurred_at < p.as_of and e2.occurred_at >= p.as_of - interval '90 days')::float8`,
    phrase: (v) => `${n(v)} support tickets from the account in 90 days`,
  },
];

// Graph features (src/graph): the contact's account in the knowledge graph. Online they are read from the
// latest graph refresh; for training they are computed as of each moment (outcomes closed before it only).
const GRAPH_FEATURES: FeatureDefinition[] = [
  {
    name: 'related_accounts_win_rate',
    version: 1,
    entity: 'contact',
    kind: 'graph',
    type: 'number',
    description:
      'Win rate of opportunities at related accounts (parent, children, similar accounts), smoothed toward the overall rate',
    windowDays: null,
    sql: 'account_related_win_rate',
    phrase: (v) =>
      v === null
        ? 'no related accounts'
        : `related and similar accounts win ${Math.round(Number(v) * 100)} % of their deals`,
  },
  {
    name: 'product_affinity',
    version: 1,
    entity: 'contact',
    kind: 'graph',
    type: 'number',
    description: 'How strongly similar accounts bought a product this account has not (top product score)',
    windowDays: null,
    sql: 'account_product_affinity_top_score',
    phrase: (v) =>
      v === null
        ? 'no product affinity yet'
        : `similar companies bought what this one has not (affinity ${n(v)})`,
  },
  {
    name: 'account_centrality',
    version: 1,
    entity: 'contact',
    kind: 'graph',
    type: 'number',
    description: "PageRank of the contact's account among linked accounts (parent and similarity edges)",
    windowDays: null,
    sql: 'account_pagerank',
    phrase: (v) => (v === null ? 'account not linked to others' : `account centrality ${n(v)}`),
  },
  {
    name: 'committee_seniorities',
    version: 1,
    entity: 'contact',
    kind: 'graph',
    type: 'number',
    description:
      'Distinct seniorities among the contacts involved in open opportunities at the account (committee structure)',
    windowDays: null,
    sql: 'account_committee_seniorities',
    phrase: (v) => `${n(v)} seniority levels in the buying committee`,
  },
];
FEATURE_DEFINITIONS.push(...GRAPH_FEATURES);

export interface FeatureSet {
  name: string;
  version: number;
  features: { name: string; version: number }[];
}

/** Named, versioned lists of features. A model records the set and version it was trained on. */
export const FEATURE_SETS: FeatureSet[] = [
  {
    name: 'lead_scoring',
    version: 1,
    features: FEATURE_DEFINITIONS.filter((d) => d.version === 1 && d.kind !== 'graph').map((d) => ({
      name: d.name,
      version: d.version,
    })),
  },
  {
    // Version 2 adds the knowledge-graph features.
    name: 'lead_scoring',
    version: 2,
    features: FEATURE_DEFINITIONS.filter((d) => d.version === 1).map((d) => ({
      name: d.name,
      version: d.version,
    })),
  },
];

export function featureSet(name: string, version?: number): FeatureSet {
  const candidates = FEATURE_SETS.filter(
    (s) => s.name === name && (version === undefined || s.version === version),
  );
  const latest = candidates.sort((a, b) => b.version - a.version)[0];
  if (!latest) throw new Error(`No feature set ${name}${version ? ` version ${version}` : ''}`);
  return latest;
}

export function definition(name: string, version: number): FeatureDefinition {
  const found = FEATURE_DEFINITIONS.find((d) => d.name === name && d.version === version);
  if (!found) throw new Error(`No feature ${name} version ${version}`);
  return found;
}

/** Departments as people write them: acronyms in capitals ("works in IT", not "works in it"). */
function departmentName(value: string): string {
  const acronyms = new Set(['it', 'hr', 'r&d', 'qa', 'pr']);
  return acronyms.has(value.toLowerCase()) ? value.toUpperCase() : value;
}
