// The funnel over time: how many entries of each stage moved on, and how long they stayed, by month of entry and
// by segment, region or owner (GET /v1/funnel/stages, computed from the stage histories).
import { useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, query } from '../api.ts';
import { Empty, ErrorNotice, Loading } from '../components/States.tsx';
import { formatPercent, humanize } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import type { FunnelCell, FunnelReport } from '../types.ts';

const COLORS = ['#1f5fbf', '#c4661f', '#2e7d4f', '#7b3fa0', '#b3261e', '#00838f', '#6d4c41', '#5c6bc0'];
type Metric = 'conversion_rate' | 'median_days';

export function FunnelPage() {
  useDocumentTitle('Funnel');
  const [object, setObject] = useState<'contact' | 'opportunity'>('contact');
  const [groupBy, setGroupBy] = useState<'none' | 'segment' | 'region' | 'owner'>('none');
  const [metric, setMetric] = useState<Metric>('conversion_rate');
  const [stage, setStage] = useState<string | null>(null);

  const report = useQuery({
    queryKey: ['funnel', object, groupBy],
    queryFn: ({ signal }) =>
      api<FunnelReport>(`/v1/funnel/stages${query({ object, group_by: groupBy })}`, { signal }),
    placeholderData: keepPreviousData,
  });
  const data = report.data;
  const currentStage = stage && data?.stages.includes(stage) ? stage : (data?.stages[0] ?? null);
  const groups = data ? (data.groups.length ? data.groups : ['all']) : [];

  const series = useMemo(() => {
    if (!data || !currentStage) return [];
    const months = [...new Set(data.rows.map((r) => r.month).filter((m): m is string => m !== null))].sort();
    return months.map((month) => {
      const point: Record<string, string | number | null> = { month };
      for (const row of data.rows) {
        if (row.month === month && row.stage === currentStage) point[row.group ?? 'all'] = row[metric];
      }
      return point;
    });
  }, [data, currentStage, metric]);

  const total = (group: string, s: string): FunnelCell | undefined =>
    data?.totals.find((t) => (t.group ?? 'all') === group && t.stage === s);

  return (
    <section className="page" aria-labelledby="funnel-title">
      <div className="page-head">
        <h1 id="funnel-title">Funnel</h1>
        <p className="muted">
          Of the entries into a stage in a month, the share that moved on (not to a loss), and the median days
          they stayed. Recent months still have entries in progress.
        </p>
      </div>
      <form className="filters" aria-label="Funnel view" onSubmit={(e) => e.preventDefault()}>
        <label>
          Funnel
          <select value={object} onChange={(e) => setObject(e.target.value as typeof object)}>
            <option value="contact">Leads (contact lifecycle)</option>
            <option value="opportunity">Opportunities (deal stages)</option>
          </select>
        </label>
        <label>
          Group by
          <select value={groupBy} onChange={(e) => setGroupBy(e.target.value as typeof groupBy)}>
            <option value="none">Nothing</option>
            <option value="segment">Segment</option>
            <option value="region">Region</option>
            <option value="owner">Owner</option>
          </select>
        </label>
        <label>
          Show
          <select value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            <option value="conversion_rate">Conversion rate</option>
            <option value="median_days">Median days in stage</option>
          </select>
        </label>
        {data && data.stages.length > 0 ? (
          <label>
            Stage
            <select value={currentStage ?? ''} onChange={(e) => setStage(e.target.value)}>
              {data.stages.map((s) => (
                <option key={s} value={s}>
                  {humanize(s)}
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </form>

      {report.isPending ? (
        <Loading what="the funnel" />
      ) : report.isError ? (
        <ErrorNotice error={report.error} retry={() => void report.refetch()} />
      ) : !data || data.totals.length === 0 ? (
        <Empty title="No stage changes recorded in the last 12 months.">
          <p>Stage changes come in with the CRM events (contact.stage_changed, opportunity.stage_changed).</p>
        </Empty>
      ) : (
        <>
          <section className="card" aria-labelledby="trend-title">
            <h2 id="trend-title">
              {metric === 'conversion_rate' ? 'Conversion' : 'Median days'} out of{' '}
              {humanize(currentStage ?? '')}, by month of entry
            </h2>
            <div
              className="chart"
              role="img"
              aria-label={`Line chart of ${metric === 'conversion_rate' ? 'conversion rate' : 'median days'} by month; the table below has the totals`}
            >
              <ResponsiveContainer width="100%" height={300}>
                <LineChart
                  accessibilityLayer={false}
                  data={series}
                  margin={{ top: 8, right: 16, bottom: 8, left: 8 }}
                >
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="month" />
                  <YAxis
                    tickFormatter={(v: number) =>
                      metric === 'conversion_rate' ? `${Math.round(v * 100)}%` : String(v)
                    }
                    domain={metric === 'conversion_rate' ? [0, 1] : [0, 'auto']}
                  />
                  <Tooltip
                    formatter={(v) =>
                      metric === 'conversion_rate' ? formatPercent(Number(v), 0) : `${Number(v).toFixed(1)} d`
                    }
                  />
                  <Legend />
                  {groups.map((g, i) => (
                    <Line
                      key={g}
                      type="monotone"
                      dataKey={g}
                      name={humanize(g)}
                      stroke={COLORS[i % COLORS.length]}
                      connectNulls
                      isAnimationActive={false}
                    />
                  ))}
                </LineChart>
              </ResponsiveContainer>
            </div>
          </section>
          <section className="card" aria-labelledby="totals-title">
            <h2 id="totals-title">Last 12 months</h2>
            <div className="table-wrap">
              <table className="grid">
                <caption className="sr-only">Conversion and median days per stage</caption>
                <thead>
                  <tr>
                    <th scope="col">{groupBy === 'none' ? '' : humanize(groupBy)}</th>
                    {data.stages.map((s) => (
                      <th key={s} scope="col">
                        {humanize(s)}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {groups.map((g) => (
                    <tr key={g}>
                      <th scope="row">{g === 'all' ? 'All' : humanize(g)}</th>
                      {data.stages.map((s) => {
                        const cell = total(g, s);
                        return (
                          <td key={s} className="num">
                            {cell ? (
                              <>
                                {formatPercent(cell.conversion_rate)}
                                <div className="muted small">
                                  {cell.advanced}/{cell.entered} · {cell.median_days ?? '–'} d
                                </div>
                              </>
                            ) : (
                              '–'
                            )}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </section>
  );
}
