// KPIs over time and by segment, agent, policy or model version (GET /v1/kpis), reviewer workload with the
// rubber-stamp signals (GET /v1/kpis/reviewers), and forecast error and bias once forecasts exist.
import { useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, query } from '../api.ts';
import { ScrollTable } from '../components/ScrollTable.tsx';
import { Empty, ErrorNotice, Loading } from '../components/States.tsx';
import { formatDuration, formatMoney, formatNumber, formatPercent, humanize } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import type { ForecastAccuracy, KpiBucket, KpiGroup, KpiReport, KpiRow, ReviewerWorkload } from '../types.ts';

const COLORS = ['#1f5fbf', '#c4661f', '#2e7d4f', '#7b3fa0', '#b3261e', '#00838f', '#6d4c41', '#5c6bc0'];

/** The KPIs a chart can show: rates as percentages, hours as hours. */
const METRICS = {
  auto_precision: { label: 'Precision of automatic decisions', rate: true },
  approve_rate: { label: 'Review approve rate', rate: true },
  reject_rate: { label: 'Review reject rate', rate: true },
  edit_rate: { label: 'Review edit rate', rate: true },
  lead_to_sql_rate: { label: 'Lead to SQL (30 days)', rate: true },
  lead_to_opportunity_rate: { label: 'Lead to opportunity (90 days)', rate: true },
  lost_opportunity_rate: { label: 'Lost-opportunity rate', rate: true },
  median_hours_to_first_engagement: { label: 'Median hours to first engagement', rate: false },
} as const satisfies Partial<Record<keyof KpiRow, { label: string; rate: boolean }>>;
type Metric = keyof typeof METRICS;

const GROUP_LABELS: Record<KpiGroup, string> = {
  none: 'Nothing',
  segment: 'Segment',
  agent: 'Agent',
  policy_version: 'Policy version',
  model_version: 'Model version',
};

const FLAG_WORDS: Record<string, string> = {
  fast_approvals: 'fast approvals',
  approves_what_others_reject: 'approves what others reject',
};

export function KpisPage() {
  useDocumentTitle('KPIs');
  const [bucket, setBucket] = useState<KpiBucket>('week');
  const [groupBy, setGroupBy] = useState<KpiGroup>('none');
  const [metric, setMetric] = useState<Metric>('approve_rate');

  const report = useQuery({
    queryKey: ['kpis', bucket, groupBy],
    queryFn: ({ signal }) => api<KpiReport>(`/v1/kpis${query({ bucket, group_by: groupBy })}`, { signal }),
    placeholderData: keepPreviousData,
  });
  const data = report.data;

  return (
    <section className="page" aria-labelledby="kpis-title">
      <div className="page-head">
        <h1 id="kpis-title">KPIs</h1>
        <p className="muted">
          What the automation and the reviews achieve, over the last 90 days. Outcomes count within the
          attribution window, so the latest periods are still filling in.
        </p>
      </div>
      <form className="filters" aria-label="KPI view" onSubmit={(e) => e.preventDefault()}>
        <label>
          Period
          <select value={bucket} onChange={(e) => setBucket(e.target.value as KpiBucket)}>
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </select>
        </label>
        <label>
          Group by
          <select value={groupBy} onChange={(e) => setGroupBy(e.target.value as KpiGroup)}>
            {Object.entries(GROUP_LABELS).map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          KPI
          <select value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            {Object.entries(METRICS).map(([key, m]) => (
              <option key={key} value={key}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
      </form>

      {report.isPending ? (
        <Loading what="the KPIs" />
      ) : report.isError ? (
        <ErrorNotice error={report.error} retry={() => void report.refetch()} />
      ) : !data || data.rows.length === 0 ? (
        <Empty title="No decisions, reviews or leads in the last 90 days.">
          <p>KPIs appear as proposals are decided and outcomes come in.</p>
        </Empty>
      ) : (
        <>
          <KpiChart report={data} metric={metric} />
          <KpiTable report={data} />
          {data.stage_cycle_times.length > 0 ? <CycleTimes report={data} /> : null}
        </>
      )}
      <ReviewersCard />
      <ForecastAccuracyCard />
    </section>
  );
}

function KpiChart({ report, metric }: { report: KpiReport; metric: Metric }) {
  const { label, rate } = METRICS[metric];
  const groups = useMemo(() => [...new Set(report.rows.map((r) => r.group))], [report.rows]);
  const series = useMemo(() => {
    const buckets = [...new Set(report.rows.map((r) => r.bucket))].sort();
    return buckets.map((bucket) => {
      const point: Record<string, string | number | null> = { bucket: bucket.slice(0, 10) };
      for (const row of report.rows) if (row.bucket === bucket) point[row.group] = row[metric];
      return point;
    });
  }, [report.rows, metric]);
  const hasValues = report.rows.some((row) => row[metric] !== null && row[metric] !== undefined);
  return (
    <section className="card" aria-labelledby="kpi-chart-title">
      <h2 id="kpi-chart-title">
        {label} by {report.bucket}
      </h2>
      {hasValues ? null : (
        <Empty title={`No ${label.toLowerCase()} in these 90 days yet.`}>
          Nothing it is computed from has happened, or its outcomes are still inside the attribution window.
          Pick another KPI, or look again later.
        </Empty>
      )}
      {hasValues ? (
        <div
          className="chart"
          role="img"
          aria-label={`Line chart of ${label.toLowerCase()} by ${report.bucket}; the table below has the figures`}
        >
          <ResponsiveContainer width="100%" height={280}>
            <LineChart
              accessibilityLayer={false}
              data={series}
              margin={{ top: 8, right: 16, bottom: 8, left: 8 }}
            >
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="bucket" />
              <YAxis
                tickFormatter={(v: number) => (rate ? `${Math.round(v * 100)}%` : String(v))}
                domain={rate ? [0, 1] : [0, 'auto']}
              />
              <Tooltip
                formatter={(v) => (rate ? formatPercent(Number(v), 1) : `${formatNumber(Number(v), 1)} h`)}
              />
              <Legend />
              {groups.map((g, i) => (
                <Line
                  key={g}
                  type="monotone"
                  dataKey={g}
                  name={g === 'all' ? 'All' : humanize(g)}
                  stroke={COLORS[i % COLORS.length]}
                  connectNulls
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      ) : null}
      {report.definitions[metric] ? <p className="muted small">{report.definitions[metric]}</p> : null}
    </section>
  );
}

function KpiTable({ report }: { report: KpiReport }) {
  const rows = [...report.rows].sort(
    (a, b) => b.bucket.localeCompare(a.bucket) || a.group.localeCompare(b.group),
  );
  return (
    <section className="card" aria-labelledby="kpi-table-title">
      <h2 id="kpi-table-title">Figures</h2>
      <ScrollTable label="KPIs per period">
        <table className="grid">
          <caption className="sr-only">
            KPIs per period{report.group_by === 'none' ? '' : ' and group'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Period</th>
              {report.group_by !== 'none' ? <th scope="col">{GROUP_LABELS[report.group_by]}</th> : null}
              <th scope="col">Auto precision</th>
              <th scope="col">Reviews</th>
              <th scope="col">Approve / reject / edit</th>
              <th scope="col">Leads</th>
              <th scope="col">To SQL</th>
              <th scope="col">To opportunity</th>
              <th scope="col">Hours to engagement</th>
              <th scope="col">Lost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.bucket}|${r.group}`}>
                <th scope="row">{r.bucket.slice(0, 10)}</th>
                {report.group_by !== 'none' ? <td>{humanize(r.group)}</td> : null}
                <td className="num">
                  {formatPercent(r.auto_precision)}
                  <div className="muted small">
                    {r.auto_successes}/{r.auto_matured} of {r.auto_executed}
                  </div>
                </td>
                <td className="num">{r.reviews}</td>
                <td className="num">
                  {formatPercent(r.approve_rate)} / {formatPercent(r.reject_rate)} /{' '}
                  {formatPercent(r.edit_rate)}
                </td>
                <td className="num">{r.leads}</td>
                <td className="num">{formatPercent(r.lead_to_sql_rate)}</td>
                <td className="num">{formatPercent(r.lead_to_opportunity_rate)}</td>
                <td className="num">{formatNumber(r.median_hours_to_first_engagement, 1)}</td>
                <td className="num">{formatPercent(r.lost_opportunity_rate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollTable>
    </section>
  );
}

function CycleTimes({ report }: { report: KpiReport }) {
  const rows = [...report.stage_cycle_times].sort(
    (a, b) =>
      b.bucket.localeCompare(a.bucket) || a.object.localeCompare(b.object) || a.stage.localeCompare(b.stage),
  );
  return (
    <details className="card">
      <summary>Stage cycle times ({rows.length})</summary>
      <ScrollTable label="Stage cycle times">
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Period</th>
              {report.group_by !== 'none' ? <th scope="col">{GROUP_LABELS[report.group_by]}</th> : null}
              <th scope="col">Funnel</th>
              <th scope="col">Stage</th>
              <th scope="col">Left</th>
              <th scope="col">Median days</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={`${c.bucket}|${c.group}|${c.object}|${c.stage}`}>
                <td>{c.bucket.slice(0, 10)}</td>
                {report.group_by !== 'none' ? <td>{humanize(c.group)}</td> : null}
                <td>{c.object === 'contact' ? 'leads' : 'opportunities'}</td>
                <td>{humanize(c.stage)}</td>
                <td className="num">{c.left}</td>
                <td className="num">{formatNumber(c.median_days, 1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollTable>
    </details>
  );
}

function ReviewersCard() {
  const reviewers = useQuery({
    queryKey: ['kpis', 'reviewers'],
    queryFn: ({ signal }) => api<{ items: ReviewerWorkload[] }>('/v1/kpis/reviewers', { signal }),
  });
  return (
    <section className="card" aria-labelledby="reviewers-title">
      <h2 id="reviewers-title">Reviewer workload</h2>
      <p className="muted">
        Flags are signals to look at, not verdicts: <strong>fast approvals</strong> when 30 % or more of
        someone’s approvals take less than a quarter of their own median time;{' '}
        <strong>approves what others reject</strong> when they approve 95 % of the kinds of items others
        reject 30 % of the time or more.
      </p>
      {reviewers.isPending ? (
        <Loading what="the reviewers" />
      ) : reviewers.isError ? (
        <ErrorNotice error={reviewers.error} retry={() => void reviewers.refetch()} />
      ) : reviewers.data.items.length === 0 ? (
        <Empty title="No reviews in the last 90 days." />
      ) : (
        <ScrollTable label="Reviewers, their workload and rubber-stamp signals">
          <table className="grid">
            <caption className="sr-only">Reviewers, their workload and rubber-stamp signals</caption>
            <thead>
              <tr>
                <th scope="col">Reviewer</th>
                <th scope="col">Items</th>
                <th scope="col">Per day</th>
                <th scope="col">Median time to decide</th>
                <th scope="col">Approvals</th>
                <th scope="col">Fast approvals</th>
                <th scope="col">Contested approved</th>
                <th scope="col">Queue</th>
                <th scope="col">Oldest waiting</th>
                <th scope="col">Signals</th>
              </tr>
            </thead>
            <tbody>
              {reviewers.data.items.map((r) => (
                <tr key={r.reviewer_id} data-reviewer-id={r.reviewer_id}>
                  <th scope="row">{r.reviewer}</th>
                  <td className="num">{r.items}</td>
                  <td className="num">{formatNumber(r.items_per_day, 1)}</td>
                  <td className="num">
                    {r.median_seconds_to_decide === null
                      ? '–'
                      : formatDuration(r.median_seconds_to_decide * 1000)}
                  </td>
                  <td className="num">{formatPercent(r.approval_rate)}</td>
                  <td className="num">
                    {r.fast_approvals} ({formatPercent(r.fast_approval_share)})
                  </td>
                  <td className="num">
                    {formatPercent(r.contested_approval_rate)}
                    <div className="muted small">of {r.contested_items}</div>
                  </td>
                  <td className="num">{r.queue}</td>
                  <td className="num">
                    {r.queue_oldest_seconds === null ? '–' : formatDuration(r.queue_oldest_seconds * 1000)}
                  </td>
                  <td>
                    {r.flags.length === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      r.flags.map((f) => (
                        <span key={f} className="badge badge-warn">
                          {FLAG_WORDS[f] ?? humanize(f)}
                        </span>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}

function ForecastAccuracyCard() {
  const accuracy = useQuery({
    queryKey: ['kpis', 'forecast'],
    queryFn: ({ signal }) => api<{ items: ForecastAccuracy[] }>('/v1/kpis/forecast', { signal }),
  });
  return (
    <section className="card" aria-labelledby="forecast-accuracy-title">
      <h2 id="forecast-accuracy-title">Forecast error and bias</h2>
      {accuracy.isPending ? (
        <Loading what="the forecast error" />
      ) : accuracy.isError ? (
        <ErrorNotice error={accuracy.error} retry={() => void accuracy.refetch()} />
      ) : accuracy.data.items.length === 0 ? (
        <p className="muted">
          None yet: a period counts once it is over and a forecast was stored before it started.
        </p>
      ) : (
        <ScrollTable label="Forecast against the value won, per period">
          <table className="grid">
            <caption className="sr-only">Forecast against the value won, per period</caption>
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">Forecast</th>
                <th scope="col">P10–P90</th>
                <th scope="col">Won</th>
                <th scope="col">Error</th>
                <th scope="col">Bias</th>
              </tr>
            </thead>
            <tbody>
              {accuracy.data.items.map((f) => (
                <tr key={`${f.period_kind}|${f.period_start}`}>
                  <th scope="row">
                    {f.period_kind} from {f.period_start.slice(0, 10)}
                  </th>
                  <td className="num">{formatMoney(f.forecast)}</td>
                  <td className="num">
                    {formatMoney(f.p10)}–{formatMoney(f.p90)}
                    {f.within_p10_p90 ? null : <div className="muted small">outside</div>}
                  </td>
                  <td className="num">{formatMoney(f.actual)}</td>
                  <td className="num">{formatPercent(f.abs_pct_error, 1)}</td>
                  <td className="num">{formatPercent(f.bias, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}
