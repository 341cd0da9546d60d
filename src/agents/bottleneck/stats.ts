// The statistics bottleneck detection rests on: Kaplan–Meier medians and the log-rank test for time in stage
// (items still in the stage are censored, not dropped), the two-proportion z test for conversion, and
// Benjamini–Hochberg to keep the false discovery rate of many slices at q. Pure, no I/O.

/** One item's time in a stage: `event` false when it is still there (censored at `time`). */
export interface Survival {
  time: number;
  event: boolean;
}

/** Standard normal CDF, Φ(z) = erfc(-z / √2) / 2 (Numerical Recipes' erfc; relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  const a = Math.abs(x);
  const t = 1 / (1 + 0.5 * a);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const value = t * Math.exp(-a * a + poly);
  return x >= 0 ? value : 2 - value;
}

/** Kaplan–Meier median survival time; null when more than half are still there at the last time seen. */
export function kaplanMeierMedian(items: readonly Survival[]): number | null {
  const sorted = [...items].sort((a, b) => a.time - b.time || Number(b.event) - Number(a.event));
  let atRisk = sorted.length;
  let survival = 1;
  let i = 0;
  while (i < sorted.length) {
    const time = sorted[i]!.time;
    let events = 0;
    let leaving = 0;
    while (i < sorted.length && sorted[i]!.time === time) {
      if (sorted[i]!.event) events++;
      leaving++;
      i++;
    }
    if (events > 0) {
      survival *= 1 - events / atRisk;
      if (survival <= 0.5) return time;
    }
    atRisk -= leaving;
  }
  return null;
}

export interface LogRank {
  /** (O - E) / sqrt(V) for group A: negative when A leaves the stage more slowly than B. */
  z: number;
  observedA: number;
  expectedA: number;
  variance: number;
  /** Peto's estimate of A's exit hazard relative to B's: exp((O - E) / V); below 1 means A is slower. */
  hazardRatio: number;
}

/** The two-sample log-rank test (Mantel–Haenszel form, ties handled by the hypergeometric variance). */
export function logRank(a: readonly Survival[], b: readonly Survival[]): LogRank {
  const all = [...a.map((s) => ({ ...s, inA: true })), ...b.map((s) => ({ ...s, inA: false }))].sort(
    (x, y) => x.time - y.time,
  );
  let atRiskA = a.length;
  let atRiskB = b.length;
  let observed = 0;
  let expected = 0;
  let variance = 0;
  let i = 0;
  while (i < all.length) {
    const time = all[i]!.time;
    let eventsA = 0;
    let eventsB = 0;
    let leftA = 0;
    let leftB = 0;
    while (i < all.length && all[i]!.time === time) {
      const item = all[i]!;
      if (item.inA) {
        leftA++;
        if (item.event) eventsA++;
      } else {
        leftB++;
        if (item.event) eventsB++;
      }
      i++;
    }
    const n = atRiskA + atRiskB;
    const d = eventsA + eventsB;
    if (d > 0 && n > 1) {
      observed += eventsA;
      expected += (d * atRiskA) / n;
      variance += (d * (atRiskA / n) * (atRiskB / n) * (n - d)) / (n - 1);
    }
    atRiskA -= leftA;
    atRiskB -= leftB;
  }
  const z = variance > 0 ? (observed - expected) / Math.sqrt(variance) : 0;
  return {
    z,
    observedA: observed,
    expectedA: expected,
    variance,
    hazardRatio: variance > 0 ? Math.exp((observed - expected) / variance) : 1,
  };
}

export interface TwoProportion {
  /** Positive when A's rate is above B's. */
  z: number;
  rateA: number;
  rateB: number;
}

/** The pooled two-proportion z test. */
export function twoProportion(
  successA: number,
  totalA: number,
  successB: number,
  totalB: number,
): TwoProportion {
  const rateA = totalA > 0 ? successA / totalA : 0;
  const rateB = totalB > 0 ? successB / totalB : 0;
  const pooled = (successA + successB) / Math.max(1, totalA + totalB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / Math.max(1, totalA) + 1 / Math.max(1, totalB)));
  return { z: se > 0 ? (rateA - rateB) / se : 0, rateA, rateB };
}

/**
 * Benjamini–Hochberg adjusted p-values (q-values), in the input order: reject every hypothesis whose q is at
 * most the false discovery rate wanted.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const q = new Array<number>(m);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const { p, i } = order[rank - 1]!;
    running = Math.min(running, (p * m) / rank);
    q[i] = running;
  }
  return q;
}
