// Synthetic leads with a known generator, for tests and examples: the true probability of each row is known,
// so a model's figures can be compared with the best any model could do.
import type { Row } from './encode.ts';
import { sigmoid } from './link.ts';
import { normal, seededRandom } from './random.ts';

export interface SyntheticLeads {
  rows: Row[];
  /** The generator's probability of conversion for each row. */
  probabilities: Float64Array;
  /** The generator's log-odds for each row. */
  logits: Float64Array;
}

const SOURCES = [
  { name: 'Google', share: 0.4, effect: 0.3 },
  { name: 'Direct', share: 0.3, effect: 0 },
  { name: 'Referral', share: 0.25, effect: 1.2 },
  { name: 'Fax', share: 0.005, effect: 0 },
  { name: 'Carrier pigeon', share: 0.005, effect: 0 },
];

/**
 * Columns: `id` (unique, useless), `created` (ISO date, ascending), `visits` (numeric, 15 % missing — and
 * missing means more likely to convert), `minutes` (numeric), `source` (categorical with two rare values),
 * `country` (categorical, 10 % empty), `noise` (numeric, no effect); the label `converted` is "yes" or "no".
 */
export function syntheticLeads(n: number, seed: number): SyntheticLeads {
  const random = seededRandom(seed);
  const rows: Row[] = [];
  const probabilities = new Float64Array(n);
  const logits = new Float64Array(n);
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < n; i++) {
    const visitsMissing = random() < 0.15;
    const visits = Math.floor(-Math.log(1 - random()) * 4);
    const minutes = Math.max(0, 10 + 6 * normal(random));
    let u = random();
    const source = SOURCES.find((s) => (u -= s.share) < 0) ?? SOURCES[0]!;
    const countryDraw = random();
    const country = countryDraw < 0.1 ? '' : countryDraw < 0.6 ? 'India' : countryDraw < 0.85 ? 'UAE' : 'UK';
    const logit =
      -2 +
      (visitsMissing ? 0.8 : 0.15 * Math.min(visits, 12)) +
      0.08 * (minutes - 10) +
      source.effect +
      (country === 'UK' ? 0.5 : 0);
    const p = sigmoid(logit);
    logits[i] = logit;
    probabilities[i] = p;
    rows.push({
      id: `lead-${i}-${Math.floor(random() * 1e9)}`,
      created: new Date(start + i * 3_600_000).toISOString(),
      visits: visitsMissing ? '' : String(visits),
      minutes: minutes.toFixed(1),
      source: source.name,
      country,
      noise: normal(random).toFixed(3),
      converted: random() < p ? 'yes' : 'no',
    });
  }
  return { rows, probabilities, logits };
}
