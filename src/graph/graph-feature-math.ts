// Graph features from a loaded knowledge graph, as of a moment. Pure: no I/O, so it is tested on hand-built
// graphs. Point in time: an outcome counts only when the opportunity closed before `asOf`; an opportunity is
// "open" at `asOf` when it was opened before and had not closed yet; edges that began later are not in the graph.
// Firmographics, seniorities and departments are today's values (the CRM keeps no history of them).
import { UndirectedGraph } from 'graphology';
import { degree as degreeCentrality, pagerank } from 'graphology-metrics/centrality/index.js';
import type { KnowledgeGraph } from './load-graph.ts';

/** How many pseudo-deals at the global win rate every related-outcome rate starts from. */
export const PRIOR_STRENGTH = 5;
/** How many products an account keeps an affinity row for. */
export const AFFINITY_PRODUCTS = 3;

export type FeatureEntity = 'account' | 'contact' | 'opportunity';

export interface GraphFeature {
  entityType: FeatureEntity;
  entityId: string;
  name: string;
  value: number;
}

interface OpportunityState {
  /** Opened before asOf. */
  existed: boolean;
  open: boolean;
  outcome: 'won' | 'lost' | null;
  amount: number;
}

interface Committee {
  contacts: number;
  seniorities: number;
  departments: number;
  hasExecutive: boolean;
  /** Share of the three tiers (executive, management, practitioner) present. */
  coverage: number;
}

export type SeniorityTier = 'executive' | 'management' | 'practitioner';

const EXECUTIVE = new Set([
  'c_level',
  'c_suite',
  'cxo',
  'chief',
  'executive',
  'vp',
  'svp',
  'evp',
  'vice_president',
  'president',
  'founder',
  'owner',
]);
const MANAGEMENT = new Set(['director', 'head', 'manager', 'lead', 'senior_manager']);

function normalizeLabel(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const normalized = value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
  return normalized || null;
}

export function seniorityTier(seniority: unknown, department?: unknown): SeniorityTier | null {
  const value = normalizeLabel(seniority);
  if ((value && EXECUTIVE.has(value)) || normalizeLabel(department) === 'executive') return 'executive';
  if (!value) return null;
  return MANAGEMENT.has(value) ? 'management' : 'practitioner';
}

/** (successes + strength * prior) / (trials + strength): sparse data stays near the prior instead of 0 or 1. */
export function smoothedRate(
  successes: number,
  trials: number,
  prior: number,
  strength = PRIOR_STRENGTH,
): number {
  return (successes + strength * prior) / (trials + strength);
}

function parseTime(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

export function opportunityState(
  properties: Record<string, unknown> | undefined,
  asOf: Date,
): OpportunityState {
  const at = asOf.getTime();
  const opened = parseTime(properties?.opened_at);
  const closed = parseTime(properties?.closed_at);
  const status = properties?.status;
  const existed = opened !== null && opened < at;
  const closedBefore = (status === 'won' || status === 'lost') && closed !== null && closed < at;
  const amount = typeof properties?.amount === 'number' ? properties.amount : 0;
  return {
    existed,
    open: existed && (status === 'open' || (closed !== null && closed >= at)),
    outcome: existed && closedBefore ? (status as 'won' | 'lost') : null,
    amount,
  };
}

function committeeOf(graph: KnowledgeGraph, contactNodes: Iterable<string>): Committee {
  const seniorities = new Set<string>();
  const departments = new Set<string>();
  const tiers = new Set<SeniorityTier>();
  let contacts = 0;
  for (const node of contactNodes) {
    contacts += 1;
    const properties = graph.getNodeAttribute(node, 'properties');
    const seniority = normalizeLabel(properties?.seniority);
    const department = normalizeLabel(properties?.department);
    if (seniority) seniorities.add(seniority);
    if (department) departments.add(department);
    const tier = seniorityTier(properties?.seniority, properties?.department);
    if (tier) tiers.add(tier);
  }
  return {
    contacts,
    seniorities: seniorities.size,
    departments: departments.size,
    hasExecutive: tiers.has('executive'),
    coverage: tiers.size / 3,
  };
}

function neighboursBy(
  graph: KnowledgeGraph,
  node: string,
  type: string,
  direction: 'out' | 'in',
  nodeType?: string,
): { node: string; weight: number }[] {
  const result: { node: string; weight: number }[] = [];
  const visit = (
    _edge: string,
    attributes: { type: string; weight: number },
    source: string,
    target: string,
  ) => {
    if (attributes.type !== type) return;
    const other = direction === 'out' ? target : source;
    if (nodeType && graph.getNodeAttribute(other, 'type') !== nodeType) return;
    result.push({ node: other, weight: attributes.weight });
  };
  if (direction === 'out') graph.forEachOutEdge(node, visit);
  else graph.forEachInEdge(node, visit);
  return result;
}

/** Accounts as nodes, parent_of and similar_to as undirected weighted edges (the stronger one where both). */
export function accountGraph(graph: KnowledgeGraph): UndirectedGraph<object, { weight: number }> {
  const accounts = new UndirectedGraph<object, { weight: number }>();
  graph.forEachNode((node, attributes) => {
    if (attributes.type === 'account') accounts.addNode(node);
  });
  graph.forEachEdge((_edge, attributes, source, target) => {
    if (attributes.type !== 'parent_of' && attributes.type !== 'similar_to') return;
    if (!accounts.hasNode(source) || !accounts.hasNode(target) || source === target) return;
    const existing = accounts.edge(source, target);
    if (existing === undefined) accounts.addEdge(source, target, { weight: attributes.weight });
    else if (accounts.getEdgeAttribute(existing, 'weight') < attributes.weight)
      accounts.setEdgeAttribute(existing, 'weight', attributes.weight);
  });
  return accounts;
}

export interface Centrality {
  degree: Record<string, number>;
  pagerank: Record<string, number>;
}

export function accountCentrality(accounts: UndirectedGraph<object, { weight: number }>): Centrality {
  if (accounts.order === 0) return { degree: {}, pagerank: {} };
  const degree =
    accounts.order > 1
      ? degreeCentrality(accounts)
      : Object.fromEntries(accounts.nodes().map((node) => [node, 0]));
  return {
    degree,
    pagerank: pagerank(accounts, { getEdgeWeight: 'weight', maxIterations: 1000, tolerance: 1e-9 }),
  };
}

interface AccountFacts {
  won: number;
  lost: number;
  wonValue: number;
  productsWon: Set<string>;
  openOpportunities: string[];
}

/** Every graph feature for accounts, contacts and opportunities, as of `asOf`. */
export function deriveGraphFeatures(graph: KnowledgeGraph, asOf: Date): GraphFeature[] {
  const states = new Map<string, OpportunityState>();
  let won = 0;
  let lost = 0;
  graph.forEachNode((node, attributes) => {
    if (attributes.type !== 'opportunity') return;
    const state = opportunityState(attributes.properties, asOf);
    states.set(node, state);
    if (state.outcome === 'won') won += 1;
    if (state.outcome === 'lost') lost += 1;
  });
  // The global win rate before asOf, itself smoothed towards a coin toss so an empty history gives 0.5.
  const prior = (won + 1) / (won + lost + 2);

  const facts = new Map<string, AccountFacts>();
  graph.forEachNode((node, attributes) => {
    if (attributes.type !== 'account') return;
    const fact: AccountFacts = {
      won: 0,
      lost: 0,
      wonValue: 0,
      productsWon: new Set(),
      openOpportunities: [],
    };
    for (const { node: opportunity } of neighboursBy(graph, node, 'involved_in', 'out', 'opportunity')) {
      const state = states.get(opportunity);
      if (!state) continue;
      if (state.open) fact.openOpportunities.push(opportunity);
      if (state.outcome === 'lost') fact.lost += 1;
      if (state.outcome === 'won') {
        fact.won += 1;
        fact.wonValue += state.amount;
        for (const { node: product } of neighboursBy(graph, opportunity, 'interested_in', 'out', 'product')) {
          fact.productsWon.add(graph.getNodeAttribute(product, 'ref'));
        }
      }
    }
    facts.set(node, fact);
  });

  const centrality = accountCentrality(accountGraph(graph));
  const features: GraphFeature[] = [];
  const accountValues = new Map<string, Record<string, number>>();
  for (const [node, fact] of facts) {
    const values = accountFeatures(graph, node, fact, facts, prior, centrality);
    const id = graph.getNodeAttribute(node, 'ref');
    accountValues.set(node, values.stable);
    for (const [name, value] of Object.entries({ ...values.stable, ...values.affinity })) {
      features.push({ entityType: 'account', entityId: id, name, value });
    }
  }

  graph.forEachNode((node, attributes) => {
    if (attributes.type === 'contact') {
      const values: Record<string, number> = {
        degree: graph.degree(node),
        open_opportunities: neighboursBy(graph, node, 'involved_in', 'out', 'opportunity').filter(
          ({ node: opportunity }) => states.get(opportunity)?.open,
        ).length,
      };
      const account = neighboursBy(graph, node, 'works_at', 'out', 'account')[0];
      const fromAccount = account ? accountValues.get(account.node) : undefined;
      for (const [name, value] of Object.entries(fromAccount ?? {})) values[`account_${name}`] = value;
      for (const [name, value] of Object.entries(values)) {
        features.push({ entityType: 'contact', entityId: attributes.ref, name, value });
      }
    } else if (attributes.type === 'opportunity' && states.get(node)?.existed) {
      const contacts = neighboursBy(graph, node, 'involved_in', 'in', 'contact').map((c) => c.node);
      const committee = committeeOf(graph, contacts);
      const values = {
        committee_size: committee.contacts,
        committee_seniorities: committee.seniorities,
        committee_departments: committee.departments,
        committee_has_executive: committee.hasExecutive ? 1 : 0,
        seniority_coverage: committee.coverage,
      };
      for (const [name, value] of Object.entries(values)) {
        features.push({ entityType: 'opportunity', entityId: attributes.ref, name, value });
      }
    }
  });
  return features;
}

function accountFeatures(
  graph: KnowledgeGraph,
  node: string,
  fact: AccountFacts,
  facts: Map<string, AccountFacts>,
  prior: number,
  centrality: Centrality,
): { stable: Record<string, number>; affinity: Record<string, number> } {
  const family = [
    ...neighboursBy(graph, node, 'parent_of', 'in', 'account'),
    ...neighboursBy(graph, node, 'parent_of', 'out', 'account'),
  ];
  const familyTotals = { won: 0, closed: 0, wonValue: 0 };
  for (const member of new Set(family.map((f) => f.node))) {
    const other = facts.get(member);
    if (!other) continue;
    familyTotals.won += other.won;
    familyTotals.closed += other.won + other.lost;
    familyTotals.wonValue += other.wonValue;
  }

  const similar = neighboursBy(graph, node, 'similar_to', 'out', 'account');
  const similarTotals = { weightedWon: 0, weightedClosed: 0, closed: 0, wonValue: 0, weight: 0 };
  const productScores = new Map<string, number>();
  for (const { node: other, weight } of similar) {
    const otherFact = facts.get(other);
    if (!otherFact) continue;
    similarTotals.weightedWon += weight * otherFact.won;
    similarTotals.weightedClosed += weight * (otherFact.won + otherFact.lost);
    similarTotals.closed += otherFact.won + otherFact.lost;
    similarTotals.wonValue += otherFact.wonValue;
    similarTotals.weight += weight;
    for (const product of otherFact.productsWon) {
      productScores.set(product, (productScores.get(product) ?? 0) + weight);
    }
  }
  // Cross-sell: what similar accounts bought that this one has not (yet, as of asOf), weighted by similarity.
  const affinities = [...productScores]
    .filter(([product]) => !fact.productsWon.has(product))
    .map(([product, score]) => [product, score / similarTotals.weight] as const)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, AFFINITY_PRODUCTS);

  const committee = committeeOf(
    graph,
    new Set(
      fact.openOpportunities.flatMap((opportunity) =>
        neighboursBy(graph, opportunity, 'involved_in', 'in', 'contact').map((c) => c.node),
      ),
    ),
  );

  const stable: Record<string, number> = {
    family_closed_deals: familyTotals.closed,
    family_won_deals: familyTotals.won,
    family_won_value: familyTotals.wonValue,
    family_win_rate: smoothedRate(familyTotals.won, familyTotals.closed, prior),
    similar_closed_deals: similarTotals.closed,
    similar_won_value: similarTotals.wonValue,
    similar_win_rate: smoothedRate(similarTotals.weightedWon, similarTotals.weightedClosed, prior),
    related_win_rate: smoothedRate(
      familyTotals.won + similarTotals.weightedWon,
      familyTotals.closed + similarTotals.weightedClosed,
      prior,
    ),
    product_affinity_top_score: affinities[0]?.[1] ?? 0,
    contacts: neighboursBy(graph, node, 'works_at', 'in', 'contact').length,
    open_opportunities: fact.openOpportunities.length,
    committee_contacts: committee.contacts,
    committee_seniorities: committee.seniorities,
    committee_departments: committee.departments,
    committee_has_executive: committee.hasExecutive ? 1 : 0,
    degree_centrality: centrality.degree[node] ?? 0,
    pagerank: centrality.pagerank[node] ?? 0,
    graph_degree: graph.degree(node),
  };
  const affinity = Object.fromEntries(
    affinities.map(([product, score]) => [`product_affinity:${product}`, score]),
  );
  return { stable, affinity };
}
