// Turns contributions into factors a person can read: "visited pricing 3 times in 14 days" (+0.9).
import type { FeatureRow } from '../features/compute.ts';
import { FEATURE_DEFINITIONS } from '../features/definitions.ts';
import type { Contribution } from './prior.ts';

export interface Factor {
  feature: string;
  phrase: string;
  value: number | string | null;
  /** Effect on the log-odds of conversion. */
  contribution: number;
}

export interface Factors {
  for: Factor[];
  against: Factor[];
}

const phrases = new Map(FEATURE_DEFINITIONS.map((d) => [d.name, d.phrase]));

/** The column a contribution belongs to: encoded names look like "seniority=vp" or "x (missing)". */
function baseFeature(name: string): string {
  return name.split(/[=\s]/)[0]!;
}

export function toFactors(contributions: Contribution[], row: FeatureRow, top = 3, minAbs = 0.02): Factors {
  const byFeature = new Map<string, number>();
  for (const c of contributions) {
    const feature = baseFeature(c.feature);
    byFeature.set(feature, (byFeature.get(feature) ?? 0) + c.contribution);
  }
  const factors = [...byFeature].map(([feature, contribution]): Factor => {
    const value = row[feature] ?? null;
    const phrase = phrases.get(feature)?.(value) ?? `${feature} = ${value ?? 'unknown'}`;
    return { feature, phrase, value, contribution: Math.round(contribution * 1000) / 1000 };
  });
  return {
    for: factors
      .filter((f) => f.contribution >= minAbs)
      .sort((a, b) => b.contribution - a.contribution)
      .slice(0, top),
    against: factors
      .filter((f) => f.contribution <= -minAbs)
      .sort((a, b) => a.contribution - b.contribution)
      .slice(0, top),
  };
}
