// Calendar periods (UTC months and quarters) the forecast is made for.
export const PERIOD_KINDS = ['month', 'quarter'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

export interface Period {
  kind: PeriodKind;
  start: number;
  end: number;
  label: string;
}

export function periodContaining(kind: PeriodKind, t: number): Period {
  const d = new Date(t);
  const months = kind === 'month' ? 1 : 3;
  const firstMonth = Math.floor(d.getUTCMonth() / months) * months;
  return periodFrom(kind, Date.UTC(d.getUTCFullYear(), firstMonth, 1));
}

export function nextPeriod(period: Period): Period {
  return periodFrom(period.kind, period.end);
}

export function previousPeriod(period: Period): Period {
  return periodContaining(period.kind, period.start - 1);
}

function periodFrom(kind: PeriodKind, start: number): Period {
  const d = new Date(start);
  const months = kind === 'month' ? 1 : 3;
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1);
  const label =
    kind === 'month'
      ? d.toISOString().slice(0, 7)
      : `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
  return { kind, start, end, label };
}

/** Within the last `days` days of a quarter: deals are pulled in before quarter ends. */
export function nearQuarterEnd(t: number, days = 10): boolean {
  const q = periodContaining('quarter', t);
  return q.end - t <= days * 86_400_000;
}
