import { MultiDirectedGraph } from 'graphology';
import { describe, expect, it } from 'vitest';
import {
  accountCentrality,
  accountGraph,
  deriveGraphFeatures,
  opportunityState,
  seniorityTier,
  smoothedRate,
} from './graph-feature-math.ts';
import type { KnowledgeEdge, KnowledgeGraph, KnowledgeNode } from './load-graph.ts';

const AS_OF = new Date('2026-06-01T00:00:00Z');

function graphOf(
  nodes: [string, KnowledgeNode][],
  edges: [string, string, KnowledgeEdge['type'], number?][],
): KnowledgeGraph {
  const graph: KnowledgeGraph = new MultiDirectedGraph<KnowledgeNode, KnowledgeEdge>();
  for (const [key, attributes] of nodes) graph.addNode(key, attributes);
  edges.forEach(([from, to, type, weight], i) =>
    graph.addEdgeWithKey(String(i), from, to, { type, weight: weight ?? 1 }),
  );
  return graph;
}

const opportunity = (status: string, opened: string, closed?: string, amount = 100): KnowledgeNode => ({
  type: 'opportunity',
  ref: `o-${status}-${opened}-${closed ?? ''}`,
  properties: { status, opened_at: opened, ...(closed ? { closed_at: closed } : {}), amount },
});

describe('smoothedRate', () => {
  it('stays at the prior without data and moves towards the observed rate with more', () => {
    expect(smoothedRate(0, 0, 0.3)).toBeCloseTo(0.3);
    expect(smoothedRate(3, 3, 0.3)).toBeGreaterThan(0.3);
    expect(smoothedRate(3, 3, 0.3)).toBeLessThan(1);
    expect(smoothedRate(300, 300, 0.3)).toBeGreaterThan(0.98);
  });
});

describe('seniorityTier', () => {
  it('groups seniorities into executive, management and practitioner tiers', () => {
    expect(seniorityTier('C-Level')).toBe('executive');
    expect(seniorityTier('VP')).toBe('executive');
    expect(seniorityTier('individual', 'executive')).toBe('executive');
    expect(seniorityTier('Director')).toBe('management');
    expect(seniorityTier('individual')).toBe('practitioner');
    expect(seniorityTier(null)).toBeNull();
    expect(seniorityTier('  ')).toBeNull();
  });
});

describe('opportunityState', () => {
  it('knows only what had happened before asOf', () => {
    expect(
      opportunityState(opportunity('won', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z').properties, AS_OF),
    ).toMatchObject({ existed: true, open: false, outcome: 'won' });
    expect(
      opportunityState(opportunity('won', '2026-01-01T00:00:00Z', '2026-07-01T00:00:00Z').properties, AS_OF),
    ).toMatchObject({ existed: true, open: true, outcome: null });
    expect(opportunityState(opportunity('open', '2026-07-01T00:00:00Z').properties, AS_OF)).toMatchObject({
      existed: false,
      open: false,
      outcome: null,
    });
  });
});

describe('accountCentrality', () => {
  it('copes with an empty graph and a single account', () => {
    expect(accountCentrality(accountGraph(graphOf([], [])))).toEqual({ degree: {}, pagerank: {} });
    const single = accountCentrality(accountGraph(graphOf([['a', { type: 'account', ref: 'A' }]], [])));
    expect(single.degree).toEqual({ a: 0 });
    expect(single.pagerank.a).toBeCloseTo(1);
  });
});

describe('deriveGraphFeatures', () => {
  it('scores products similar accounts bought that this one has not', () => {
    const graph = graphOf(
      [
        ['a', { type: 'account', ref: 'A' }],
        ['b', { type: 'account', ref: 'B' }],
        ['c', { type: 'account', ref: 'C' }],
        ['ob', opportunity('won', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')],
        ['oc', opportunity('won', '2026-01-02T00:00:00Z', '2026-02-01T00:00:00Z')],
        ['late', opportunity('won', '2026-01-03T00:00:00Z', '2026-07-01T00:00:00Z')],
        ['p1', { type: 'product', ref: 'P1' }],
        ['p2', { type: 'product', ref: 'P2' }],
      ],
      [
        ['a', 'b', 'similar_to', 0.8],
        ['a', 'c', 'similar_to', 0.2],
        ['b', 'ob', 'involved_in'],
        ['c', 'oc', 'involved_in'],
        ['c', 'late', 'involved_in'],
        ['ob', 'p1', 'interested_in'],
        ['oc', 'p2', 'interested_in'],
        ['late', 'p1', 'interested_in'],
      ],
    );
    const features = deriveGraphFeatures(graph, AS_OF).filter((f) => f.entityId === 'A');
    const values = Object.fromEntries(features.map((f) => [f.name, f.value]));
    expect(values['product_affinity:P1']).toBeCloseTo(0.8);
    expect(values['product_affinity:P2']).toBeCloseTo(0.2);
    expect(values.product_affinity_top_score).toBeCloseTo(0.8);
    expect(values.similar_closed_deals).toBe(2);
    expect(features.every((f) => Number.isFinite(f.value))).toBe(true);
  });
});
