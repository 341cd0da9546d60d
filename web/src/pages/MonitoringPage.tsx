// Monitoring: the circuit breaker with the alarm that tripped it (and its reset, with a reason, for policy
// owners), the open and recent alarms (GET /v1/alarms), and the latest report's drift per feature (PSI, KS or
// chi-square), calibration, freshness and error rates (GET /v1/monitoring/report).
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { api, ApiError, describeError } from '../api.ts';
import { ReasonDialog } from '../components/ReasonDialog.tsx';
import { ScrollTable } from '../components/ScrollTable.tsx';
import { Empty, ErrorNotice, type Flash, FlashBanner, Loading } from '../components/States.tsx';
import { formatDateTime, formatDuration, formatNumber, formatPercent, humanize } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import { useSignedIn } from '../session.tsx';
import type { Alarm, BreakerState, MonitoringReport } from '../types.ts';

/** The defaults (FUNNELGATE_DRIFT_PSI_WARN / _ALARM); an open alarm shows the thresholds the server used. */
const PSI_WARN = 0.1;
const PSI_ALARM = 0.2;

const formatValue = (value: number | null) =>
  value === null ? '–' : Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);

export function MonitoringPage() {
  useDocumentTitle('Monitoring');
  const [status, setStatus] = useState<'open' | 'all'>('all');
  const alarms = useQuery({
    queryKey: ['alarms', status],
    queryFn: ({ signal }) => api<{ items: Alarm[] }>(`/v1/alarms?status=${status}&limit=100`, { signal }),
    refetchInterval: 30_000,
  });

  return (
    <section className="page" aria-labelledby="monitoring-title">
      <div className="page-head">
        <h1 id="monitoring-title">Monitoring</h1>
        <p className="muted">
          Every 15 minutes the champion model is checked for drift and calibration, and the feature store, the
          connectors and the jobs for freshness and errors. An alarm at its threshold opens the circuit
          breaker: everything goes to review until a policy owner resets it.
        </p>
      </div>
      <BreakerCard />
      <section className="card" aria-labelledby="alarms-title">
        <h2 id="alarms-title">Alarms</h2>
        <form className="filters" aria-label="Which alarms" onSubmit={(e) => e.preventDefault()}>
          <label>
            Show
            <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
              <option value="all">Open and recent</option>
              <option value="open">Open only</option>
            </select>
          </label>
        </form>
        {alarms.isPending ? (
          <Loading what="the alarms" />
        ) : alarms.isError ? (
          <ErrorNotice error={alarms.error} retry={() => void alarms.refetch()} />
        ) : alarms.data.items.length === 0 ? (
          <Empty title={status === 'open' ? 'No open alarm.' : 'No alarm recorded.'} />
        ) : (
          <AlarmTable alarms={alarms.data.items} />
        )}
      </section>
      <ReportCards />
    </section>
  );
}

function BreakerCard() {
  const session = useSignedIn();
  const canReset = session.can('policy');
  const queryClient = useQueryClient();
  const [resetting, setResetting] = useState(false);
  const [flash, setFlash] = useState<Flash | null>(null);
  const breaker = useQuery({
    queryKey: ['circuit-breaker'],
    queryFn: ({ signal }) => api<BreakerState>('/v1/circuit-breaker', { signal }),
    refetchInterval: 30_000,
  });
  // The tripping alarm may be resolved by now: look among all, not only the open ones.
  const trippedBy = useQuery({
    queryKey: ['alarms', 'all'],
    queryFn: ({ signal }) => api<{ items: Alarm[] }>('/v1/alarms?status=all&limit=100', { signal }),
    enabled: Boolean(breaker.data?.alarm_id),
  });
  const reset = useMutation({
    mutationFn: (reason: string) =>
      api<BreakerState>('/v1/circuit-breaker', { method: 'PUT', body: { open: false, reason } }),
    onSuccess: () => {
      setFlash({
        kind: 'ok',
        text: 'Circuit breaker closed: automatic execution resumes. The open alarms are acknowledged.',
      });
      void queryClient.invalidateQueries({ queryKey: ['circuit-breaker'] });
      void queryClient.invalidateQueries({ queryKey: ['alarms'] });
    },
    onError: (error) => setFlash({ kind: 'error', text: describeError(error) }),
  });

  const state = breaker.data;
  const alarm = state?.alarm_id ? trippedBy.data?.items.find((a) => a.id === state.alarm_id) : undefined;
  return (
    <section className="card" aria-labelledby="breaker-title" data-testid="breaker">
      <h2 id="breaker-title">Circuit breaker</h2>
      <FlashBanner flash={flash} />
      {breaker.isPending ? (
        <Loading what="the circuit breaker" />
      ) : breaker.isError ? (
        <ErrorNotice error={breaker.error} retry={() => void breaker.refetch()} />
      ) : (
        <>
          <p className="breaker-state">
            <span className={`status ${state!.open ? 'status-blocked' : 'status-active'}`}>
              {state!.open ? 'Open' : 'Closed'}
            </span>{' '}
            {state!.open
              ? 'Automatic execution is suspended: every proposal goes to review.'
              : 'Automatic execution runs as the policy allows.'}
          </p>
          <dl className="facts">
            <div>
              <dt>Changed</dt>
              <dd>
                {formatDateTime(state!.changed_at)}
                {state!.changed_by ? ` by ${state!.changed_by}` : ''}
              </dd>
            </div>
            <div>
              <dt>Trigger</dt>
              <dd>{state!.trigger ?? '–'}</dd>
            </div>
            <div>
              <dt>Reason</dt>
              <dd>{state!.reason ?? '–'}</dd>
            </div>
          </dl>
          {state!.alarm_id ? (
            <p data-testid="tripping-alarm">
              Tripped by the alarm{' '}
              {alarm ? (
                <>
                  <strong>
                    {humanize(alarm.kind)} · {alarm.key}
                  </strong>
                  : {alarm.message}
                </>
              ) : (
                <code>{state!.alarm_id.slice(0, 8)}</code>
              )}
            </p>
          ) : null}
          {state!.open ? (
            canReset ? (
              <button type="button" className="danger" onClick={() => setResetting(true)}>
                Reset the breaker…
              </button>
            ) : (
              <p className="muted">Only a policy owner or an admin resets the breaker, with a reason.</p>
            )
          ) : null}
        </>
      )}
      <ReasonDialog
        open={resetting}
        title="Reset the circuit breaker"
        subject="Automatic execution resumes and the open alarms are acknowledged (they will not trip the breaker again; a new alarm will). Say what you checked; the audit trail keeps it."
        confirm="Reset"
        minLength={3}
        busy={reset.isPending}
        onClose={() => setResetting(false)}
        onSubmit={(reason) => {
          reset.mutate(reason);
          setResetting(false);
        }}
      />
    </section>
  );
}

function AlarmTable({ alarms }: { alarms: Alarm[] }) {
  return (
    <ScrollTable label="Alarms, newest first">
      <table className="grid">
        <caption className="sr-only">Alarms, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Alarm</th>
            <th scope="col">Severity</th>
            <th scope="col">Status</th>
            <th scope="col">Value</th>
            <th scope="col">Warn / alarm at</th>
            <th scope="col">Opened</th>
            <th scope="col">What happened</th>
          </tr>
        </thead>
        <tbody>
          {alarms.map((a) => (
            <tr key={a.id} data-alarm={`${a.kind}:${a.key}`}>
              <th scope="row">
                {humanize(a.kind)}
                <div className="muted small">{a.key}</div>
              </th>
              <td>
                <span className={`badge ${a.severity === 'alarm' ? 'badge-alarm' : 'badge-warn'}`}>
                  {a.severity}
                </span>
              </td>
              <td>
                {a.status}
                {a.acknowledged_at ? <div className="muted small">acknowledged</div> : null}
              </td>
              <td className="num">{formatValue(a.value)}</td>
              <td className="num">
                {formatValue(a.warn_threshold)} / {formatValue(a.alarm_threshold)}
              </td>
              <td>
                {formatDateTime(a.opened_at)}
                {a.resolved_at ? (
                  <div className="muted small">resolved {formatDateTime(a.resolved_at)}</div>
                ) : null}
              </td>
              <td>
                {a.message}
                {a.tripped_breaker_at ? (
                  <div className="small">Tripped the breaker {formatDateTime(a.tripped_breaker_at)}</div>
                ) : null}
                {a.acknowledged_at ? (
                  <div className="muted small">
                    Acknowledged by {a.acknowledged_by}: {a.acknowledge_reason}
                  </div>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollTable>
  );
}

function ReportCards() {
  const report = useQuery({
    queryKey: ['monitoring', 'report'],
    queryFn: ({ signal }) => api<MonitoringReport>('/v1/monitoring/report', { signal }),
    refetchInterval: 60_000,
    retry: (count, error) => !(error instanceof ApiError && error.status === 404) && count < 2,
  });
  if (report.isPending) return <Loading what="the monitoring report" />;
  if (report.isError)
    return report.error instanceof ApiError && report.error.status === 404 ? (
      <Empty title="No monitoring report yet.">
        <p>
          The checks run every 15 minutes (or now with <code>funnelgate monitor run</code>).
        </p>
      </Empty>
    ) : (
      <ErrorNotice error={report.error} retry={() => void report.refetch()} />
    );
  const r = report.data;
  return (
    <>
      <DriftCard report={r} />
      <div className="columns">
        <section className="card" aria-labelledby="calibration-title">
          <h2 id="calibration-title">Calibration</h2>
          <dl className="facts">
            <div>
              <dt>ECE on labelled decisions</dt>
              <dd>{formatPercent(r.calibration.ece, 1)}</dd>
            </div>
            <div>
              <dt>On the holdout at training</dt>
              <dd>{formatPercent(r.calibration.holdout_ece, 1)}</dd>
            </div>
            <div>
              <dt>Predicted / observed</dt>
              <dd>
                {formatPercent(r.calibration.mean_predicted, 1)} /{' '}
                {formatPercent(r.calibration.observed_rate, 1)}
              </dd>
            </div>
            <div>
              <dt>Labelled decisions</dt>
              <dd>{r.calibration.labelled}</dd>
            </div>
            <div>
              <dt>Model age</dt>
              <dd>{r.model_age_days === null ? '–' : `${formatNumber(r.model_age_days, 1)} days`}</dd>
            </div>
          </dl>
        </section>
        <section className="card" aria-labelledby="health-title">
          <h2 id="health-title">Freshness and errors</h2>
          <dl className="facts">
            <div>
              <dt>Contacts waiting for a feature refresh</dt>
              <dd>{r.freshness.backlog}</dd>
            </div>
            <div>
              <dt>Oldest waiting</dt>
              <dd>{formatDuration(r.freshness.oldest_waiting_seconds * 1000)}</dd>
            </div>
            {r.connectors.map((c) => (
              <div key={c.connector}>
                <dt>Connector {c.connector} dead-lettered (24 h)</dt>
                <dd>
                  {formatPercent(c.error_rate, 1)} ({c.dead} of {c.delivered + c.dead})
                </dd>
              </div>
            ))}
            {r.jobs.map((j) => (
              <div key={j.task}>
                <dt>Job {j.task} failed for good (24 h)</dt>
                <dd>{j.failed}</dd>
              </div>
            ))}
          </dl>
        </section>
      </div>
    </>
  );
}

function DriftCard({ report }: { report: MonitoringReport }) {
  const drift = report.drift;
  const features = [...drift.features].sort((a, b) => b.psi - a.psi);
  return (
    <section className="card" aria-labelledby="drift-title">
      <h2 id="drift-title">Drift per feature</h2>
      <p className="muted">
        Checked {formatDateTime(report.at)}
        {drift.model ? ` for model v${drift.model.version}` : ''}: the last {drift.window_days} days (
        {drift.recent_rows} rows) against the training window ({drift.reference_rows} rows). PSI {PSI_WARN}{' '}
        warns, {PSI_ALARM} alarms unless the distribution test finds the difference could be chance.
      </p>
      {drift.skipped ? (
        <p className="banner banner-info">No drift verdict: {drift.skipped}</p>
      ) : features.length === 0 ? (
        <p className="muted">No features measured.</p>
      ) : (
        <>
          <div
            className="chart"
            role="img"
            aria-label={`Bar chart of PSI per feature: ${features
              .slice(0, 8)
              .map((f) => `${f.feature} ${f.psi.toFixed(2)}`)
              .join(', ')}`}
          >
            <ResponsiveContainer width="100%" height={Math.max(120, 28 * features.length + 40)}>
              <BarChart
                accessibilityLayer={false}
                layout="vertical"
                data={features}
                margin={{ top: 8, right: 24, bottom: 8, left: 8 }}
              >
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis
                  type="number"
                  domain={[0, (max: number) => Math.max(max, PSI_ALARM * 1.2)]}
                  tickFormatter={(v: number) => v.toFixed(2)}
                />
                <YAxis type="category" dataKey="feature" width={130} />
                <Tooltip formatter={(v) => Number(v).toFixed(3)} />
                <ReferenceLine x={PSI_WARN} stroke="#8a4b00" strokeDasharray="4 4" />
                <ReferenceLine x={PSI_ALARM} stroke="#a8201a" strokeDasharray="4 4" />
                <Bar dataKey="psi" name="PSI" isAnimationActive={false}>
                  {features.map((f) => (
                    <Cell
                      key={f.feature}
                      fill={f.psi >= PSI_ALARM ? '#a8201a' : f.psi >= PSI_WARN ? '#c4661f' : '#1f5fbf'}
                    />
                  ))}
                </Bar>
              </BarChart>
            </ResponsiveContainer>
          </div>
          <ScrollTable label="PSI and distribution test per feature">
            <table className="grid">
              <caption className="sr-only">PSI and distribution test per feature</caption>
              <thead>
                <tr>
                  <th scope="col">Feature</th>
                  <th scope="col">PSI</th>
                  <th scope="col">Test</th>
                  <th scope="col">Statistic</th>
                  <th scope="col">p-value</th>
                  <th scope="col">Reference / recent</th>
                </tr>
              </thead>
              <tbody>
                {features.map((f) => (
                  <tr key={f.feature} data-feature={f.feature}>
                    <th scope="row">{f.feature}</th>
                    <td className="num">
                      {f.psi.toFixed(3)}{' '}
                      {f.psi >= PSI_ALARM ? (
                        <span className="badge badge-alarm">high</span>
                      ) : f.psi >= PSI_WARN ? (
                        <span className="badge badge-warn">moderate</span>
                      ) : null}
                    </td>
                    <td>{f.test === 'ks' ? 'Kolmogorov–Smirnov' : 'chi-square'}</td>
                    <td className="num">{f.statistic.toFixed(3)}</td>
                    <td className="num">
                      {f.p_value < 1e-4 ? f.p_value.toExponential(1) : f.p_value.toFixed(4)}
                    </td>
                    <td className="num">
                      {f.reference_n} / {f.recent_n}
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
