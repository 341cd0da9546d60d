// Bottleneck detection, pure: per stage, and per slice of it (segment, region, owner, product), compare the
// entries of the recent window with the slice's own baseline window — time in stage by the log-rank test (items
// still in the stage are censored at `now`), conversion (advanced / resolved) by the two-proportion test. Every
// test is one hypothesis; Benjamini–Hochberg keeps the false discovery rate at `fdr` over all of them, and a
// minimum effect keeps trivial changes out. Significant slices of one stage explain each other: the strongest
// slice is kept, and another significant slice is "explained" when, without the kept slice's entries, it is no
// longer significant (the owners of a slow region, the stage as a whole). The start of a finding is the entry
// time that best splits the slice's entries into before and after (the most significant split).
import {
  benjaminiHochberg,
  kaplanMeierMedian,
  logRank,
  normalCdf,
  twoProportion,
  type Survival,
} from './stats.ts';

export const DIMENSIONS = ['segment', 'region', 'owner', 'product'] as const;
export type Dimension = (typeof DIMENSIONS)[number] | 'all';
export type FindingKind = 'slowdown' | 'conversion_drop';

export interface StageEntry {
  subjectId: string;
  stage: string;
  enteredAt: number;
  /** When it left the stage (to the next stage or a loss); null while it is still there. */
  leftAt: number | null;
  outcome: 'advanced' | 'lost' | 'open';
  segment: string;
  region: string;
  owner: string;
  /** The owner's user id, when there is one (remediations name owners). */
  ownerId: string | null;
  product: string;
  amount: number | null;
}

export interface DetectOptions {
  now: Date;
  /** Entries of the last `recentDays` are compared with those of the `baselineDays` before them. */
  recentDays: number;
  baselineDays: number;
  /** False discovery rate over every test of the run. */
  fdr: number;
  /** A slice needs this many entries in each window to be tested. */
  minEntries: number;
  /** Slowdowns smaller than this factor (baseline exit hazard / recent) are not worth a finding. */
  minSlowdown: number;
  /** Conversion drops smaller than this (absolute, e.g. 0.08 = 8 points) are not worth a finding. */
  minConversionDrop: number;
}

export const DEFAULT_DETECT_OPTIONS: Omit<DetectOptions, 'now'> = {
  recentDays: 120,
  baselineDays: 270,
  fdr: 0.05,
  minEntries: 10,
  minSlowdown: 1.3,
  minConversionDrop: 0.08,
};

export interface WindowStats {
  entries: number;
  exits: number;
  still_open: number;
  median_days: number | null;
  conversion: number | null;
  resolved: number;
}

export interface Finding {
  key: string;
  stage: string;
  dimension: Dimension;
  value: string;
  kind: FindingKind;
  /** Slowdown: how many times slower (1 / hazard ratio); conversion drop: recent minus baseline rate. */
  effect: number;
  z: number;
  pValue: number;
  qValue: number;
  startDate: Date | null;
  recent: WindowStats;
  baseline: WindowStats;
  /** The rest of the stage (outside the slice) over the same windows: shows the change is the slice's own. */
  rest: { recent: WindowStats; baseline: WindowStats; effect: number } | null;
  /** Other significant slices this finding explains. */
  explains: { dimension: Dimension; value: string; p_value: number }[];
  /** Items of the slice in the stage now. */
  open: { subjectId: string; ownerId: string | null; owner: string; amount: number | null; days: number }[];
  summary: string;
}

export interface DetectionReport {
  now: Date;
  windows: { recent_from: Date; baseline_from: Date };
  tests: number;
  significant: number;
  /** The largest p-value Benjamini–Hochberg accepted (0 when none). */
  p_threshold: number;
  findings: Finding[];
}

const DAY = 86_400_000;
/** One-sided p below which what is left of a slice still shows the change. */
const WEAK_EVIDENCE = 0.1;

interface Slice {
  stage: string;
  dimension: Dimension;
  value: string;
  recent: StageEntry[];
  baseline: StageEntry[];
}

interface Hypothesis {
  slice: Slice;
  kind: FindingKind;
  z: number;
  p: number;
  effect: number;
  q: number;
}

export function detectBottlenecks(
  entries: readonly StageEntry[],
  input: Partial<DetectOptions> & { now: Date },
): DetectionReport {
  const options = { ...DEFAULT_DETECT_OPTIONS, ...input };
  const now = options.now.getTime();
  const recentFrom = now - options.recentDays * DAY;
  const baselineFrom = recentFrom - options.baselineDays * DAY;
  const inScope = entries.filter((e) => e.enteredAt >= baselineFrom && e.enteredAt < now);

  const hypotheses: Hypothesis[] = [];
  for (const slice of slicesOf(inScope, recentFrom, options.minEntries)) {
    for (const kind of ['slowdown', 'conversion_drop'] as const) {
      const test = runTest(kind, slice.recent, slice.baseline, now, options.minEntries);
      if (test) hypotheses.push({ slice, kind, ...test, q: 1 });
    }
  }
  const q = benjaminiHochberg(hypotheses.map((h) => h.p));
  hypotheses.forEach((h, i) => (h.q = q[i]!));
  const accepted = hypotheses.filter((h) => h.q <= options.fdr);
  const pThreshold = accepted.reduce((max, h) => Math.max(max, h.p), 0);
  const material = accepted.filter((h) =>
    h.kind === 'slowdown' ? h.effect >= options.minSlowdown : -h.effect >= options.minConversionDrop,
  );

  const findings: Finding[] = [];
  const groups = new Map<string, Hypothesis[]>();
  for (const h of material) {
    const key = `${h.slice.stage}|${h.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), h]);
  }
  for (const group of groups.values()) {
    findings.push(...attribute(group, now, pThreshold, options.minEntries));
  }
  findings.sort((a, b) => a.pValue - b.pValue);
  return {
    now: options.now,
    windows: { recent_from: new Date(recentFrom), baseline_from: new Date(baselineFrom) },
    tests: hypotheses.length,
    significant: accepted.length,
    p_threshold: pThreshold,
    findings,
  };
}

function slicesOf(entries: readonly StageEntry[], recentFrom: number, minEntries: number): Slice[] {
  const slices: Slice[] = [];
  const byStage = groupBy(entries, (e) => e.stage);
  for (const [stage, stageEntries] of byStage) {
    const split = (list: StageEntry[]) => ({
      recent: list.filter((e) => e.enteredAt >= recentFrom),
      baseline: list.filter((e) => e.enteredAt < recentFrom),
    });
    slices.push({ stage, dimension: 'all', value: 'all', ...split(stageEntries) });
    for (const dimension of DIMENSIONS) {
      for (const [value, list] of groupBy(stageEntries, (e) => e[dimension])) {
        const slice = { stage, dimension, value, ...split(list) };
        if (slice.recent.length >= minEntries && slice.baseline.length >= minEntries) slices.push(slice);
      }
    }
  }
  return slices;
}

function survivalOf(entries: readonly StageEntry[], now: number): Survival[] {
  return entries.map((e) => {
    const left = e.leftAt !== null && e.leftAt <= now ? e.leftAt : null;
    return { time: ((left ?? now) - e.enteredAt) / DAY, event: left !== null };
  });
}

function resolved(entries: readonly StageEntry[], now: number): { advanced: number; total: number } {
  let advanced = 0;
  let total = 0;
  for (const e of entries) {
    if (e.leftAt === null || e.leftAt > now || e.outcome === 'open') continue;
    total++;
    if (e.outcome === 'advanced') advanced++;
  }
  return { advanced, total };
}

/** One-sided: small p when `recent` is slower (or converts less) than `baseline`. */
function runTest(
  kind: FindingKind,
  recent: readonly StageEntry[],
  baseline: readonly StageEntry[],
  now: number,
  minEntries: number,
): { z: number; p: number; effect: number } | null {
  if (recent.length < minEntries || baseline.length < minEntries) return null;
  if (kind === 'slowdown') {
    const a = survivalOf(recent, now);
    const b = survivalOf(baseline, now);
    const events = (list: Survival[]) => list.filter((s) => s.event).length;
    if (events(a) + events(b) < minEntries) return null;
    const test = logRank(a, b);
    return { z: test.z, p: normalCdf(test.z), effect: 1 / test.hazardRatio };
  }
  const a = resolved(recent, now);
  const b = resolved(baseline, now);
  if (a.total < minEntries || b.total < minEntries) return null;
  const test = twoProportion(a.advanced, a.total, b.advanced, b.total);
  return { z: test.z, p: normalCdf(test.z), effect: test.rateA - test.rateB };
}

/** Keeps the slices that explain the group's signal; the others are listed under the slice that explains them. */
function attribute(group: Hypothesis[], now: number, pThreshold: number, minEntries: number): Finding[] {
  // Coarse slices first (a region before its owners), then by strength: the coarsest explanation wins unless one
  // of its own parts accounts for all of it.
  const level = (h: Hypothesis) => (h.slice.dimension === 'all' ? 0 : h.slice.dimension === 'owner' ? 2 : 1);
  const bySpecificity = [...group].sort((a, b) => level(a) - level(b) || a.p - b.p);
  const kept: { h: Hypothesis; explains: Finding['explains'] }[] = [];
  const explained = new Set<Hypothesis>();
  const stillSignificant = (h: Hypothesis, without: Hypothesis): boolean => {
    const drop = new Set([...without.slice.recent, ...without.slice.baseline]);
    const residual = runTest(
      h.kind,
      h.slice.recent.filter((e) => !drop.has(e)),
      h.slice.baseline.filter((e) => !drop.has(e)),
      now,
      minEntries,
    );
    return residual !== null && residual.p <= pThreshold;
  };
  // Stricter than "no longer significant": the rest shows no sign of the change at all (a part explains the
  // whole only then; a region with one slow owner, not a slow region whose data one owner happens to dominate).
  const anyChangeLeft = (h: Hypothesis, without: Hypothesis): boolean => {
    const drop = new Set([...without.slice.recent, ...without.slice.baseline]);
    const residual = runTest(
      h.kind,
      h.slice.recent.filter((e) => !drop.has(e)),
      h.slice.baseline.filter((e) => !drop.has(e)),
      now,
      minEntries,
    );
    return residual !== null && residual.p <= WEAK_EVIDENCE;
  };
  for (const h of bySpecificity) {
    if (explained.has(h)) continue;
    // A slice is a finding of its own only when none of its parts accounts for all of it (the stage as a whole
    // when one region is slow, a region when one of its owners is).
    if (group.some((o) => o !== h && isPartOf(o, h) && !anyChangeLeft(h, o))) continue;
    const explains: Finding['explains'] = [];
    for (const other of bySpecificity) {
      if (other === h || explained.has(other) || kept.some((k) => k.h === other)) continue;
      if (!stillSignificant(other, h)) {
        explained.add(other);
        explains.push({ dimension: other.slice.dimension, value: other.slice.value, p_value: other.p });
      }
    }
    kept.push({ h, explains });
  }
  return kept.map(({ h, explains }) => toFinding(h, explains, group, now, minEntries));
}

function isPartOf(part: Hypothesis, whole: Hypothesis): boolean {
  const members = new Set([...whole.slice.recent, ...whole.slice.baseline]);
  const entries = [...part.slice.recent, ...part.slice.baseline];
  return entries.length < members.size && entries.every((e) => members.has(e));
}

function toFinding(
  h: Hypothesis,
  explains: Finding['explains'],
  group: Hypothesis[],
  now: number,
  minEntries: number,
): Finding {
  const { slice } = h;
  const whole = group.find((g) => g.slice.dimension === 'all')?.slice;
  const inSlice = new Set([...slice.recent, ...slice.baseline]);
  let rest: Finding['rest'] = null;
  if (whole && slice.dimension !== 'all') {
    const recent = whole.recent.filter((e) => !inSlice.has(e));
    const baseline = whole.baseline.filter((e) => !inSlice.has(e));
    const test = runTest(h.kind, recent, baseline, now, minEntries);
    rest = {
      recent: windowStats(recent, now),
      baseline: windowStats(baseline, now),
      effect: test?.effect ?? (h.kind === 'slowdown' ? 1 : 0),
    };
  }
  const startDate = changePoint(h.kind, [...slice.baseline, ...slice.recent], now, Math.ceil(minEntries / 2));
  const recentStats = windowStats(slice.recent, now);
  const baselineStats = windowStats(slice.baseline, now);
  const where = slice.dimension === 'all' ? 'across the stage' : `for ${slice.dimension} ${slice.value}`;
  const summary =
    h.kind === 'slowdown'
      ? `"${slice.stage}" is ${round(h.effect, 1)}x slower ${where}: median ${fmtDays(recentStats.median_days)} in the stage recently against ${fmtDays(baselineStats.median_days)} before` +
        (startDate ? `, since about ${startDate.toISOString().slice(0, 10)}` : '')
      : `"${slice.stage}" converts ${Math.round(-h.effect * 100)} points less ${where}: ${pct(recentStats.conversion)} recently against ${pct(baselineStats.conversion)} before` +
        (startDate ? `, since about ${startDate.toISOString().slice(0, 10)}` : '');
  return {
    key: `${slice.stage}|${slice.dimension}|${slice.value}|${h.kind}`,
    stage: slice.stage,
    dimension: slice.dimension,
    value: slice.value,
    kind: h.kind,
    effect: round(h.effect, 3),
    z: round(h.z, 3),
    pValue: h.p,
    qValue: h.q,
    startDate,
    recent: recentStats,
    baseline: baselineStats,
    rest,
    explains,
    open: slice.recent
      .concat(slice.baseline)
      .filter((e) => e.leftAt === null || e.leftAt > now)
      .map((e) => ({
        subjectId: e.subjectId,
        ownerId: e.ownerId,
        owner: e.owner,
        amount: e.amount,
        days: round((now - e.enteredAt) / DAY, 1),
      })),
    summary,
  };
}

/**
 * The change point: the entry time τ that maximises the likelihood of "one rate before τ, another after" — exit
 * rates (events per day in the stage, exponential model, censoring included) for a slowdown, conversion rates
 * for a drop — among splits that make the slice worse after τ.
 */
function changePoint(kind: FindingKind, entries: StageEntry[], now: number, minSide: number): Date | null {
  const sorted = [...entries].sort((a, b) => a.enteredAt - b.enteredAt);
  if (sorted.length < 2 * minSide) return null;
  const survival = survivalOf(sorted, now);
  const resolvedFlags = sorted.map((e) =>
    e.leftAt === null || e.leftAt > now || e.outcome === 'open' ? null : e.outcome === 'advanced',
  );
  // Prefix sums: events and exposure (slowdown), advanced and resolved (conversion).
  const n = sorted.length;
  const a = new Float64Array(n + 1);
  const b = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    if (kind === 'slowdown') {
      a[i + 1] = a[i]! + (survival[i]!.event ? 1 : 0);
      b[i + 1] = b[i]! + Math.max(survival[i]!.time, 1e-3);
    } else {
      a[i + 1] = a[i]! + (resolvedFlags[i] === true ? 1 : 0);
      b[i + 1] = b[i]! + (resolvedFlags[i] === null ? 0 : 1);
    }
  }
  const logLik = (x: number, y: number) =>
    kind === 'slowdown'
      ? x > 0 && y > 0
        ? x * Math.log(x / y) - x
        : 0
      : y > 0
        ? (x > 0 ? x * Math.log(x / y) : 0) + (y - x > 0 ? (y - x) * Math.log((y - x) / y) : 0)
        : 0;
  let best: { ll: number; at: number } | null = null;
  for (let i = minSide; i <= n - minSide; i++) {
    const x1 = a[i]!;
    const y1 = b[i]!;
    const x2 = a[n]! - x1;
    const y2 = b[n]! - y1;
    // Only splits where the later part is worse: slower exits or fewer conversions.
    if (!(y1 > 0 && y2 > 0) || x2 / y2 >= x1 / y1) continue;
    const ll = logLik(x1, y1) + logLik(x2, y2);
    if (!best || ll > best.ll) best = { ll, at: sorted[i]!.enteredAt };
  }
  return best ? new Date(best.at) : null;
}

function windowStats(entries: readonly StageEntry[], now: number): WindowStats {
  const survival = survivalOf(entries, now);
  const { advanced, total } = resolved(entries, now);
  const median = kaplanMeierMedian(survival);
  return {
    entries: entries.length,
    exits: survival.filter((s) => s.event).length,
    still_open: survival.filter((s) => !s.event).length,
    median_days: median === null ? null : round(median, 1),
    conversion: total > 0 ? round(advanced / total, 3) : null,
    resolved: total,
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function fmtDays(days: number | null): string {
  return days === null ? 'over half still open' : `${days} days`;
}

function pct(rate: number | null): string {
  return rate === null ? 'n/a' : `${Math.round(rate * 100)} %`;
}
