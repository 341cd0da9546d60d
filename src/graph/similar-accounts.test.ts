import { describe, expect, it } from 'vitest';
import { nearestSimilar, similarity, type Firmographics } from './similar-accounts.ts';

const account = (id: string, overrides: Partial<Firmographics> = {}): Firmographics => ({
  id,
  industry: 'software',
  sizeBand: 'smb',
  region: 'EMEA',
  employees: 100,
  revenue: 10_000_000,
  ...overrides,
});

describe('similarity', () => {
  it('is 1 for identical firmographics and falls with distance, region and missing values', () => {
    expect(similarity(account('a'), account('b'))).toBe(1);
    const tenTimes = similarity(account('a'), account('b', { employees: 1000, revenue: 100_000_000 }));
    expect(tenTimes).toBeCloseTo(0.5, 2);
    expect(similarity(account('a'), account('b', { region: 'NA' }))).toBeCloseTo(0.8);
    expect(similarity(account('a'), account('b', { employees: null, revenue: null }))).toBeCloseTo(0.5);
    expect(similarity(account('a'), account('b', { revenue: -5 }))).toBeGreaterThan(0);
  });
});

describe('nearestSimilar', () => {
  it('keeps the k nearest of the same industry and compatible size band, ties to the lower id', () => {
    const accounts = [
      account('a'),
      account('b', { employees: 110 }),
      account('c', { employees: 5000 }),
      account('d', { industry: 'retail' }),
      account('e', { sizeBand: 'enterprise' }),
      account('f', { sizeBand: null, employees: 100 }),
      account('g'),
    ];
    const pairs = nearestSimilar(accounts, { k: 2 });
    const of = (id: string) => pairs.filter((p) => p.from === id).map((p) => [p.to, p.rank]);
    expect(of('a')).toEqual([
      ['f', 1],
      ['g', 2],
    ]);
    expect(of('d')).toEqual([]);
    expect(of('e')).toEqual([['f', 1]]);
    expect(pairs.every((p) => p.similarity > 0 && p.similarity <= 1)).toBe(true);
    expect(nearestSimilar(accounts, { k: 2, only: new Set(['b']) }).map((p) => p.from)).toEqual(['b', 'b']);
  });
});
