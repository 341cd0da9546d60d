// The pipeline forecast: won value for the current and next period with its P10–P90 range (GET /v1/forecast),
// by segment or owner, a scenario with changed win rates, cycle times or pipeline creation
// (GET /v1/forecast/scenario), the backtest against the naive baselines (GET /v1/forecast/backtest), and what
// moved the forecast since last week (GET /v1/forecast/changes).
import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Bar, BarChart, CartesianGrid, ErrorBar, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, ApiError, query } from '../api.ts';
import { ScrollTable } from '../components/ScrollTable.tsx';
import { Empty, ErrorNotice, Loading } from '../components/States.tsx';
import { formatDateTime, formatMoney, formatPercent, humanize } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import type {
  BacktestSummary,
  DealMove,
  ForecastChanges,
  ForecastPeriod,
  ForecastScenario,
  ForecastView,
} from '../types.ts';

type Kind = 'month' | 'quarter';
const NO_CHANGE: ForecastScenario = { win_rate: 1, cycle_time: 1, pipeline_creation: 1 };
const signedMoney = (v: number) => `${v >= 0 ? '+' : '−'}${formatMoney(Math.abs(v))}`;

export function ForecastPage() {
  useDocumentTitle('Forecast');
  const [kind, setKind] = useState<Kind>('quarter');
  const forecast = useQuery({
    queryKey: ['forecast', kind],
    queryFn: ({ signal }) => api<ForecastView>(`/v1/forecast${query({ period: kind })}`, { signal }),
    placeholderData: keepPreviousData,
    staleTime: 5 * 60_000,
  });
  return (
    <section className="page" aria-labelledby="forecast-title">
      <div className="page-head">
        <h1 id="forecast-title">Forecast</h1>
        <p className="muted">
          Won value by the end of each period: what is won already, each open deal’s chance of closing in time
          (a time-to-event model on stage, age and activity) times its value, and the value expected from
          pipeline not created yet. The range is the 10th to 90th percentile.
        </p>
      </div>
      <form className="filters" aria-label="Forecast period" onSubmit={(e) => e.preventDefault()}>
        <label>
          Period
          <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="month">Month</option>
            <option value="quarter">Quarter</option>
          </select>
        </label>
      </form>
      {forecast.isPending ? (
        <Loading what="the forecast" />
      ) : forecast.isError ? (
        <ErrorNotice error={forecast.error} retry={() => void forecast.refetch()} />
      ) : forecast.data.deals === 0 && forecast.data.periods.every((p) => p.expected === 0) ? (
        <Empty title="No opportunities to forecast yet.">
          <p>Opportunities come in with the CRM events (crm.opportunity.created and its stage changes).</p>
        </Empty>
      ) : (
        <>
          <PeriodCards forecast={forecast.data} />
          <Breakdown periods={forecast.data.periods} />
          <ScenarioCard kind={kind} />
          <ChangesCard kind={kind} after={forecast.data.run_id} />
          <BacktestCard kind={kind} />
        </>
      )}
    </section>
  );
}

function PeriodCards({ forecast }: { forecast: ForecastView }) {
  const chart = forecast.periods.map((p) => ({
    label: p.label,
    expected: p.expected,
    range: [p.expected - p.p10, p.p90 - p.expected],
  }));
  return (
    <section className="card" aria-labelledby="periods-title">
      <h2 id="periods-title">Expected won value</h2>
      <p className="muted small">
        As of {formatDateTime(forecast.as_of)}, over {forecast.deals} open deals.
      </p>
      <div className="columns">
        {forecast.periods.map((p) => (
          <dl key={p.label} className="facts period-facts" data-period={p.label}>
            <div>
              <dt>{p.label}</dt>
              <dd className="big">{formatMoney(p.expected)}</dd>
            </div>
            <div>
              <dt>P10–P90</dt>
              <dd>
                {formatMoney(p.p10)}–{formatMoney(p.p90)}
              </dd>
            </div>
            <div>
              <dt>Won so far</dt>
              <dd>{formatMoney(p.won_to_date)}</dd>
            </div>
            <div>
              <dt>From open deals</dt>
              <dd>{formatMoney(p.from_open)}</dd>
            </div>
            <div>
              <dt>From new pipeline</dt>
              <dd>{formatMoney(p.from_new)}</dd>
            </div>
          </dl>
        ))}
      </div>
      <div
        className="chart"
        role="img"
        aria-label={`Expected won value with its P10–P90 range: ${forecast.periods
          .map((p) => `${p.label} ${formatMoney(p.expected)} (${formatMoney(p.p10)}–${formatMoney(p.p90)})`)
          .join(', ')}`}
      >
        <ResponsiveContainer width="100%" height={220}>
          <BarChart
            accessibilityLayer={false}
            data={chart}
            margin={{ top: 8, right: 16, bottom: 8, left: 16 }}
          >
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" />
            <YAxis tickFormatter={(v: number) => formatMoney(v)} width={80} />
            <Tooltip formatter={(v) => formatMoney(Number(v))} />
            <Bar dataKey="expected" name="expected" fill="#1f5fbf" isAnimationActive={false}>
              <ErrorBar dataKey="range" width={10} stroke="#1b1f24" />
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
    </section>
  );
}

function Breakdown({ periods }: { periods: ForecastPeriod[] }) {
  const [by, setBy] = useState<'segment' | 'owner'>('segment');
  const keys = [...new Set(periods.flatMap((p) => p.breakdown[by].map((r) => r.key)))];
  const cell = (p: ForecastPeriod, key: string) => p.breakdown[by].find((r) => r.key === key);
  keys.sort((a, b) => (cell(periods[0]!, b)?.expected ?? 0) - (cell(periods[0]!, a)?.expected ?? 0));
  return (
    <section className="card" aria-labelledby="breakdown-title">
      <h2 id="breakdown-title">By {by}</h2>
      <form className="filters" aria-label="Breakdown" onSubmit={(e) => e.preventDefault()}>
        <label>
          Break down by
          <select value={by} onChange={(e) => setBy(e.target.value as typeof by)}>
            <option value="segment">Segment</option>
            <option value="owner">Owner</option>
          </select>
        </label>
      </form>
      <ScrollTable label={`Forecast by ${by}`}>
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">{by === 'segment' ? 'Segment' : 'Owner'}</th>
              {periods.map((p) => (
                <th key={p.label} scope="col">
                  {p.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key}>
                <th scope="row">{key}</th>
                {periods.map((p) => {
                  const c = cell(p, key);
                  return (
                    <td key={p.label} className="num">
                      {c ? formatMoney(c.expected) : '–'}
                      {c ? (
                        <div className="muted small">
                          won {formatMoney(c.won_to_date)} · {c.deals} deals
                        </div>
                      ) : null}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollTable>
    </section>
  );
}

const SLIDERS: { key: keyof ForecastScenario; label: string }[] = [
  { key: 'win_rate', label: 'Win rate' },
  { key: 'cycle_time', label: 'Cycle time' },
  { key: 'pipeline_creation', label: 'New pipeline' },
];

function ScenarioCard({ kind }: { kind: Kind }) {
  const [draft, setDraft] = useState<ForecastScenario>(NO_CHANGE);
  const [asked, setAsked] = useState<ForecastScenario | null>(null);
  const scenario = useQuery({
    queryKey: ['forecast', 'scenario', kind, asked],
    queryFn: ({ signal }) =>
      api<ForecastView>(`/v1/forecast/scenario${query({ period: kind, ...asked })}`, { signal }),
    enabled: asked !== null,
    staleTime: Infinity,
  });
  return (
    <section className="card" aria-labelledby="scenario-title">
      <h2 id="scenario-title">Scenario</h2>
      <p className="muted">Multiply what the model learned, and see the forecast move. 1 is as learned.</p>
      <form
        className="scenario-form"
        onSubmit={(e) => {
          e.preventDefault();
          setAsked(draft);
        }}
      >
        {SLIDERS.map((s) => (
          <div key={s.key} className="slider">
            <label htmlFor={`scenario-${s.key}`}>{s.label}</label>{' '}
            <output htmlFor={`scenario-${s.key}`}>×{draft[s.key].toFixed(2)}</output>
            <input
              id={`scenario-${s.key}`}
              type="range"
              min={0.5}
              max={2}
              step={0.05}
              value={draft[s.key]}
              aria-valuetext={`${draft[s.key].toFixed(2)} times as learned`}
              onChange={(e) => setDraft({ ...draft, [s.key]: Number(e.target.value) })}
            />
          </div>
        ))}
        <div className="row-actions">
          <button type="submit">Show the scenario</button>
          <button type="button" className="secondary" onClick={() => setDraft(NO_CHANGE)}>
            Back to 1
          </button>
        </div>
      </form>
      {asked === null ? null : scenario.isPending ? (
        <Loading what="the scenario" />
      ) : scenario.isError ? (
        <ErrorNotice error={scenario.error} retry={() => void scenario.refetch()} />
      ) : (
        <ScrollTable label="The scenario against the forecast as learned">
          <table className="grid" data-testid="scenario-result">
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">As learned</th>
                <th scope="col">Scenario</th>
                <th scope="col">Change</th>
                <th scope="col">Scenario P10–P90</th>
              </tr>
            </thead>
            <tbody>
              {scenario.data.periods.map((p) => {
                const base = scenario.data.baseline?.find((b) => b.label === p.label);
                return (
                  <tr key={p.label}>
                    <th scope="row">{p.label}</th>
                    <td className="num">{formatMoney(base?.expected)}</td>
                    <td className="num">{formatMoney(p.expected)}</td>
                    <td className="num">{base ? signedMoney(p.expected - base.expected) : '–'}</td>
                    <td className="num">
                      {formatMoney(p.p10)}–{formatMoney(p.p90)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}

function ChangesCard({ kind, after }: { kind: Kind; after: string | null }) {
  const changes = useQuery({
    // After the forecast run the page just stored: it is the latest one the changes compare.
    queryKey: ['forecast', 'changes', kind, after],
    queryFn: ({ signal }) =>
      api<ForecastChanges>(`/v1/forecast/changes${query({ period: kind, days: 7 })}`, { signal }),
    retry: (count, error) => !(error instanceof ApiError && error.status === 404) && count < 2,
  });
  const moves: { title: string; items: DealMove[] }[] = changes.data
    ? [
        { title: 'New deals', items: changes.data.new },
        { title: 'Won', items: changes.data.won },
        { title: 'Lost', items: changes.data.lost },
        { title: 'Slipped to a later period', items: changes.data.slipped },
        { title: 'Chance changed', items: changes.data.probability },
      ].filter((m) => m.items.length > 0)
    : [];
  return (
    <section className="card" aria-labelledby="changes-title">
      <h2 id="changes-title">What moved since last week</h2>
      {changes.isPending ? (
        <Loading what="the changes" />
      ) : changes.isError ? (
        changes.error instanceof ApiError && changes.error.status === 404 ? (
          <p className="muted">{changes.error.message}</p>
        ) : (
          <ErrorNotice error={changes.error} retry={() => void changes.refetch()} />
        )
      ) : (
        <>
          <p data-testid="forecast-delta">
            {changes.data.to.period}: {formatMoney(changes.data.from.expected)} on{' '}
            {formatDateTime(changes.data.from.as_of)} → {formatMoney(changes.data.to.expected)} on{' '}
            {formatDateTime(changes.data.to.as_of)} ({signedMoney(changes.data.delta)})
          </p>
          <dl className="facts">
            {Object.entries(changes.data.parts).map(([part, value]) => (
              <div key={part}>
                <dt>{humanize(part)}</dt>
                <dd>{signedMoney(value)}</dd>
              </div>
            ))}
          </dl>
          {moves.length === 0 ? (
            <p className="muted">No deal moved by more than 5 points.</p>
          ) : (
            moves.map((m) => (
              <details key={m.title}>
                <summary>
                  {m.title} ({m.items.length})
                </summary>
                <ScrollTable label={m.title}>
                  <table className="grid">
                    <thead>
                      <tr>
                        <th scope="col">Deal</th>
                        <th scope="col">Owner</th>
                        <th scope="col">Stage</th>
                        <th scope="col">Chance</th>
                        <th scope="col">Effect</th>
                      </tr>
                    </thead>
                    <tbody>
                      {m.items.slice(0, 20).map((d) => (
                        <tr key={d.opportunity_id}>
                          <th scope="row">{d.name}</th>
                          <td>{d.owner}</td>
                          <td>
                            {humanize(d.stage_before ?? '–')} → {humanize(d.stage_after ?? '–')}
                          </td>
                          <td className="num">
                            {formatPercent(d.p_before)} → {formatPercent(d.p_after)}
                          </td>
                          <td className="num">{signedMoney(d.delta)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </ScrollTable>
              </details>
            ))
          )}
        </>
      )}
    </section>
  );
}

function BacktestCard({ kind }: { kind: Kind }) {
  const backtest = useQuery({
    queryKey: ['forecast', 'backtest', kind],
    queryFn: ({ signal }) =>
      api<BacktestSummary>(`/v1/forecast/backtest${query({ period: kind, periods: 4 })}`, { signal }),
    staleTime: 10 * 60_000,
  });
  const methods = [
    ['forecast', 'This forecast'],
    ['last_period', "Last period's actual"],
    ['stage_weighted', 'Stage-weighted pipeline'],
  ] as const;
  return (
    <section className="card" aria-labelledby="backtest-title">
      <h2 id="backtest-title">Backtest</h2>
      <p className="muted">
        Each of the last periods forecast as of its first day, with only what was known then, against what was
        won — next to two naive baselines.
      </p>
      {backtest.isPending ? (
        <Loading what="the backtest" />
      ) : backtest.isError ? (
        <ErrorNotice error={backtest.error} retry={() => void backtest.refetch()} />
      ) : (
        <>
          <ScrollTable label="Backtest error by method">
            <table className="grid" data-testid="backtest-summary">
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col">MAPE</th>
                  <th scope="col">Bias</th>
                </tr>
              </thead>
              <tbody>
                {methods.map(([key, label]) => (
                  <tr key={key}>
                    <th scope="row">{label}</th>
                    <td className="num">{formatPercent(backtest.data.mape[key], 1)}</td>
                    <td className="num">{formatPercent(backtest.data.bias[key], 1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollTable>
          <p className="muted small">
            The actual fell inside P10–P90 in {formatPercent(backtest.data.coverage_p10_p90)} of the periods.
          </p>
          <ScrollTable label="Backtest per period">
            <table className="grid">
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  <th scope="col">Won</th>
                  <th scope="col">Forecast</th>
                  <th scope="col">P10–P90</th>
                  <th scope="col">Last period</th>
                  <th scope="col">Stage-weighted</th>
                </tr>
              </thead>
              <tbody>
                {backtest.data.periods.map((p) => (
                  <tr key={p.period}>
                    <th scope="row">{p.period}</th>
                    <td className="num">{formatMoney(p.actual)}</td>
                    <td className="num">
                      {formatMoney(p.forecast)}
                      <div className="muted small">{formatPercent(p.error.forecast)}</div>
                    </td>
                    <td className="num">
                      {formatMoney(p.p10)}–{formatMoney(p.p90)}
                    </td>
                    <td className="num">
                      {formatMoney(p.last_period)}
                      <div className="muted small">{formatPercent(p.error.last_period)}</div>
                    </td>
                    <td className="num">
                      {formatMoney(p.stage_weighted)}
                      <div className="muted small">{formatPercent(p.error.stage_weighted)}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollTable>
        </>
      )}
    </section>
  );
}
