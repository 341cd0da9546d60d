// The P10–P90 range, calibrated on the forecast's own past errors. The Monte Carlo in forecast.ts draws each
// deal's outcome, the hazard level the models were fitted to (a common shift of the weekly odds of winning, of
// the size of their standard error) and new pipeline with an over-dispersed count; it cannot know how wrong the
// model itself has been period to period (markets move, the history is short). So each period of a run is
// also forecast as of its first day with only what was known then, as the backtest does, for the last few
// periods that are over, and the log error of each, ln(actual / expected), is scored against the spread that
// run's Monte Carlo gave it: z = ln(actual / expected) / σ, with σ = (ln P90 − ln P10) / (2 × 1.2816).
// Split-conformal on those normalised scores: the 80 % range is expected × exp(±q σ) with q the
// ⌈(n + 1) × 0.8⌉-th smallest |z| of n past periods, which covers a new period at least 80 % of the time if
// the periods' scores are exchangeable. With two or three past periods that rank is beyond n, so a parametric
// stand-in is used instead, stated as such: if the scores were normal with mean 0, a new one over their root
// mean square is Student-t with n degrees of freedom, so q = t(0.9; n) × rms(z). With fewer than two, the Monte
// Carlo range is kept as it is.

/** The z quantile of 0.9 (P10–P90 of a normal is ±1.2816 σ). */
export const Z90 = 1.2815515655446004;
export const MIN_CALIBRATION_PERIODS = 4;

/** The Monte Carlo's spread of a period, in log space: (ln P90 − ln P10) / (2 × 1.2816), at least 1 %. */
export function logSpread(expected: number, p10: number, p90: number): number {
  if (!(expected > 0)) return 0.01;
  const lo = Math.log(Math.max(p10, expected * 1e-3));
  const hi = Math.log(Math.max(p90, expected * 1e-3));
  return Math.max(0.01, (hi - lo) / (2 * Z90));
}

/** A past period's normalised log error; null when nothing was won or nothing was expected. */
export function calibrationScore(actual: number, expected: number, p10: number, p90: number): number | null {
  if (!(actual > 0) || !(expected > 0)) return null;
  return Math.log(actual / expected) / logSpread(expected, p10, p90);
}

/** Student-t 0.9 quantiles for 1-3 degrees of freedom. */
const T90 = [Number.NaN, 3.0777, 1.8856, 1.6377];

/**
 * The multiple of σ the 80 % range reaches on each side: the split-conformal quantile of |z| with four or more
 * scores, t(0.9; n) × rms(z) with two or three, null with fewer.
 */
export function conformalQuantile(scores: readonly number[]): number | null {
  const n = scores.length;
  if (n >= MIN_CALIBRATION_PERIODS) {
    const sorted = scores.map(Math.abs).sort((a, b) => a - b);
    return sorted[Math.min(n, Math.ceil((n + 1) * 0.8)) - 1]!;
  }
  if (n < 2) return null;
  return T90[n]! * Math.sqrt(scores.reduce((a, z) => a + z * z, 0) / n);
}

export interface CalibratedRange {
  p10: number;
  p90: number;
  /** 'calibrated' when past errors set the range, 'monte_carlo' when there were too few of them. */
  method: 'monte_carlo' | 'calibrated';
  /** Past periods scored. */
  periods: number;
  /** The quantile in units of σ (1.28 = the Monte Carlo's own width); null with too few periods. */
  q: number | null;
}

/**
 * The calibrated range of the value still to be won (`expected`, with the Monte Carlo's P10/P90 of it), given
 * the normalised scores of past periods: expected × exp(±q σ). It can be narrower than the Monte Carlo's when
 * past periods were forecast better than the Monte Carlo said (the conformal guarantee holds either way).
 */
export function calibratedRange(
  expected: number,
  p10: number,
  p90: number,
  scores: readonly number[],
): CalibratedRange {
  const q = conformalQuantile(scores);
  if (q === null || !(expected > 0)) return { p10, p90, method: 'monte_carlo', periods: scores.length, q };
  const sigma = logSpread(expected, p10, p90);
  return {
    p10: expected * Math.exp(-q * sigma),
    p90: expected * Math.exp(q * sigma),
    method: 'calibrated',
    periods: scores.length,
    q,
  };
}
