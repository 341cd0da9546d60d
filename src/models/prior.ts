// The cold-start scorer: a transparent, hand-set logistic rule used until enough outcomes exist to train a
// model. Every weight is visible here and in each score's factors, and every score it gives is flagged as a
// prior, with how many more outcomes a trained model needs.
import type { FeatureRow } from '../features/compute.ts';

export const MIN_POSITIVES_TO_TRAIN = 50;

interface PriorTerm {
  feature: string;
  weight: number;
  /** Values above the cap count as the cap: a hundred pricing views are not a hundred times the intent. */
  cap?: number;
}

const NUMERIC_TERMS: PriorTerm[] = [
  { feature: 'pricing_views_14d', weight: 0.45, cap: 5 },
  { feature: 'demo_intent_28d', weight: 0.5, cap: 4 },
  { feature: 'meetings_held_90d', weight: 1.0, cap: 3 },
  { feature: 'email_reply_rate_90d', weight: 2.0, cap: 1 },
  { feature: 'forms_90d', weight: 0.4, cap: 3 },
  { feature: 'touches_28d', weight: 0.04, cap: 25 },
  { feature: 'days_since_last_touch', weight: -0.03, cap: 60 },
  { feature: 'no_shows_90d', weight: -0.5, cap: 2 },
];

const SENIORITY_WEIGHT: Record<string, number> = {
  c_level: 0.6,
  vp: 0.6,
  director: 0.3,
  manager: 0,
  individual: -0.2,
};
const BASE = -3.2;

export const PRIOR_DESCRIPTION =
  'Rule-based prior (cold start): logit = -3.2 + 0.45·pricing views (≤5) + 0.5·demo intent (≤4) + 1.0·meetings held (≤3) ' +
  '+ 2.0·reply rate + 0.4·forms (≤3) + 0.04·touches 28d (≤25) − 0.03·days since last touch (≤60) − 0.5·no-shows (≤2) ' +
  '+ seniority (C-level/VP +0.6, director +0.3, individual −0.2).';

export interface Contribution {
  feature: string;
  value: number | string | null;
  contribution: number;
}

export interface Prediction {
  probability: number;
  base: number;
  contributions: Contribution[];
}

export function priorPredict(row: FeatureRow): Prediction {
  const contributions: Contribution[] = [];
  for (const term of NUMERIC_TERMS) {
    const raw = row[term.feature];
    if (raw === null || raw === undefined || typeof raw !== 'number' || Number.isNaN(raw)) continue;
    const value = term.cap !== undefined ? Math.min(raw, term.cap) : raw;
    contributions.push({ feature: term.feature, value: raw, contribution: term.weight * value });
  }
  const seniority = row['seniority'];
  if (typeof seniority === 'string' && SENIORITY_WEIGHT[seniority] !== undefined) {
    contributions.push({
      feature: 'seniority',
      value: seniority,
      contribution: SENIORITY_WEIGHT[seniority]!,
    });
  }
  const logit = BASE + contributions.reduce((sum, c) => sum + c.contribution, 0);
  return { probability: 1 / (1 + Math.exp(-logit)), base: BASE, contributions };
}
