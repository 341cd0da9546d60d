// The similar_to edges: for each account, the nearest accounts by firmographics. Pure; the sync feeds it the
// live accounts. Done here rather than in SQL because a self-join of every industry with itself grows with the
// square of the accounts and ends in a sort spilling to disk (10,000 accounts: 5.6 million pairs, 4.8 s); a
// top-k scan per account in memory takes a fraction of that.
import { SIMILAR_ACCOUNTS } from './graph-model.ts';

export interface Firmographics {
  id: string;
  industry: string;
  sizeBand: string | null;
  region: string | null;
  employees: number | null;
  revenue: number | null;
}

export interface SimilarPair {
  from: string;
  to: string;
  /** In (0, 1]; 1 for identical firmographics. */
  similarity: number;
  /** 1 for the nearest. */
  rank: number;
}

const DECADE = Math.log(10);

interface Prepared {
  id: string;
  sizeBand: string | null;
  region: string | null;
  logEmployees: number | null;
  logRevenue: number | null;
}

function prepare(account: Firmographics): Prepared {
  return {
    id: account.id,
    sizeBand: account.sizeBand,
    region: account.region,
    logEmployees: account.employees === null ? null : Math.log1p(Math.max(account.employees, 0)),
    logRevenue: account.revenue === null ? null : Math.log1p(Math.max(account.revenue, 0)),
  };
}

function decadesApart(a: number | null, b: number | null): number {
  return a === null || b === null ? 1 : Math.abs(a - b) / DECADE;
}

/**
 * Distance: how many decades apart employees and revenue are (an unknown counts as one decade), averaged, plus a
 * quarter when the regions differ. Similarity 1 / (1 + distance).
 */
function similarityOf(a: Prepared, b: Prepared): number {
  const distance =
    (decadesApart(a.logEmployees, b.logEmployees) + decadesApart(a.logRevenue, b.logRevenue)) / 2 +
    (a.region === b.region ? 0 : 0.25);
  return 1 / (1 + distance);
}

export function similarity(a: Firmographics, b: Firmographics): number {
  return similarityOf(prepare(a), prepare(b));
}

/** Higher similarity first; the lower id breaks ties, so every run picks the same neighbours. */
function before(a: { similarity: number; id: string }, b: { similarity: number; id: string }): boolean {
  return a.similarity > b.similarity || (a.similarity === b.similarity && a.id < b.id);
}

/**
 * The `k` nearest accounts of each account (of those in `only`, when given), among accounts of the same
 * industry whose size band is the same or unknown on either side.
 */
export function nearestSimilar(
  accounts: readonly Firmographics[],
  options: { k?: number; only?: ReadonlySet<string> } = {},
): SimilarPair[] {
  const k = options.k ?? SIMILAR_ACCOUNTS;
  const byIndustry = new Map<string, Prepared[]>();
  for (const account of accounts) {
    const list = byIndustry.get(account.industry) ?? [];
    list.push(prepare(account));
    byIndustry.set(account.industry, list);
  }
  const pairs: SimilarPair[] = [];
  for (const members of byIndustry.values()) {
    for (const x of members) {
      if (options.only && !options.only.has(x.id)) continue;
      const best: { id: string; similarity: number }[] = [];
      for (const y of members) {
        if (y.id === x.id) continue;
        if (x.sizeBand !== null && y.sizeBand !== null && x.sizeBand !== y.sizeBand) continue;
        const candidate = { id: y.id, similarity: similarityOf(x, y) };
        if (best.length === k && !before(candidate, best[k - 1]!)) continue;
        let at = best.length;
        while (at > 0 && before(candidate, best[at - 1]!)) at -= 1;
        best.splice(at, 0, candidate);
        if (best.length > k) best.pop();
      }
      best.forEach((neighbour, i) =>
        pairs.push({ from: x.id, to: neighbour.id, similarity: neighbour.similarity, rank: i + 1 }),
      );
    }
  }
  return pairs;
}
