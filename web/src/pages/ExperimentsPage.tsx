// Holdout experiments: the list, the lift of each KPI against the holdout with its 95 % interval
// (GET /v1/experiments/{name}/lift), the ROI summary (GET /v1/reports/roi), and starting and stopping one for the
// roles the API allows (policy_owner, admin; the API refuses everyone else anyway).
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Bar,
  BarChart,
  CartesianGrid,
  ErrorBar,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { api, describeError } from '../api.ts';
import { ReasonDialog } from '../components/ReasonDialog.tsx';
import { ScrollTable } from '../components/ScrollTable.tsx';
import { Empty, ErrorNotice, type Flash, FlashBanner, Loading } from '../components/States.tsx';
import { formatDateTime, formatNumber, formatPercent } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import { useSignedIn } from '../session.tsx';
import type { Experiment, ExperimentLift, Interval, RoiReport } from '../types.ts';

const points = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} pp`;
const days = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(1)} d`;
const interval = (i: Interval | null, show: (v: number) => string) =>
  i ? `${show(i.low)} to ${show(i.high)}` : '–';

export function ExperimentsPage() {
  useDocumentTitle('Experiments');
  const session = useSignedIn();
  const canManage = session.can('policy');
  const queryClient = useQueryClient();
  const [selected, setSelected] = useState<string | null>(null);
  const [stopping, setStopping] = useState<string | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);

  const experiments = useQuery({
    queryKey: ['experiments'],
    queryFn: ({ signal }) => api<{ items: Experiment[] }>('/v1/experiments', { signal }),
  });
  const stop = useMutation({
    mutationFn: (input: { name: string; reason: string }) =>
      api<Experiment>(`/v1/experiments/${encodeURIComponent(input.name)}/stop`, {
        method: 'POST',
        body: { reason: input.reason },
      }),
    onSuccess: (row) => {
      setFlash({ kind: 'ok', text: `Stopped ${row.name}: its holdout goes back to normal gating.` });
      void queryClient.invalidateQueries({ queryKey: ['experiments'] });
      void queryClient.invalidateQueries({ queryKey: ['roi'] });
    },
    onError: (error) => setFlash({ kind: 'error', text: describeError(error) }),
  });

  const items = experiments.data?.items ?? [];
  const current = selected ?? items[0]?.name ?? null;

  return (
    <section className="page" aria-labelledby="experiments-title">
      <div className="page-head">
        <h1 id="experiments-title">Experiments</h1>
        <p className="muted">
          A holdout experiment leaves a share of contacts to business as usual (their proposals are recorded
          and blocked), so the effect of the automation can be measured against them.
        </p>
      </div>
      <FlashBanner flash={flash} />
      {experiments.isPending ? (
        <Loading what="the experiments" />
      ) : experiments.isError ? (
        <ErrorNotice error={experiments.error} retry={() => void experiments.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No experiment yet.">
          <p>
            {canManage ? 'Start one below, or' : 'A policy owner starts one'} with{' '}
            <code>funnelgate experiment start NAME --holdout-share 0.1</code>.
          </p>
        </Empty>
      ) : (
        <ScrollTable label="Holdout experiments">
          <table className="grid">
            <caption className="sr-only">Holdout experiments</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Holdout</th>
                <th scope="col">Subjects</th>
                <th scope="col">Started</th>
                <th scope="col">Stopped</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} data-experiment={e.name}>
                  <th scope="row">
                    {e.name}
                    {e.description ? <div className="muted small">{e.description}</div> : null}
                  </th>
                  <td>
                    <span className={`status status-${e.status === 'active' ? 'active' : 'withdrawn'}`}>
                      {e.status}
                    </span>
                  </td>
                  <td className="num">{formatPercent(e.holdout_share)}</td>
                  <td>{e.subject_type}s</td>
                  <td>
                    {formatDateTime(e.started_at)}
                    <div className="muted small">{e.created_by}</div>
                  </td>
                  <td>{formatDateTime(e.stopped_at)}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="small secondary"
                      aria-pressed={current === e.name}
                      aria-label={`Show the lift of ${e.name}`}
                      onClick={() => setSelected(e.name)}
                    >
                      Lift
                    </button>
                    {canManage && e.status === 'active' ? (
                      <button
                        type="button"
                        className="small danger"
                        aria-label={`Stop ${e.name}`}
                        onClick={() => setStopping(e.name)}
                      >
                        Stop
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {current ? <LiftCard key={current} name={current} /> : null}
      <RoiCard />
      {canManage ? (
        <StartForm
          onStarted={(name) => {
            setFlash({ kind: 'ok', text: `Started ${name}.` });
            setSelected(name);
          }}
        />
      ) : (
        <p className="muted">Starting and stopping experiments need the policy_owner or admin role.</p>
      )}
      <ReasonDialog
        open={stopping !== null}
        title={`Stop ${stopping ?? ''}`}
        subject="Its holdout subjects go back to normal gating. Say why; the audit trail keeps it."
        confirm="Stop the experiment"
        minLength={3}
        busy={stop.isPending}
        onClose={() => setStopping(null)}
        onSubmit={(reason) => {
          if (stopping) stop.mutate({ name: stopping, reason });
          setStopping(null);
        }}
      />
    </section>
  );
}

function LiftCard({ name }: { name: string }) {
  const lift = useQuery({
    queryKey: ['experiments', name, 'lift'],
    queryFn: ({ signal }) =>
      api<ExperimentLift>(`/v1/experiments/${encodeURIComponent(name)}/lift`, { signal }),
  });
  return (
    <section className="card" aria-labelledby="lift-title">
      <h2 id="lift-title">Lift of {name}</h2>
      {lift.isPending ? (
        <Loading what="the lift" />
      ) : lift.isError ? (
        <ErrorNotice error={lift.error} retry={() => void lift.refetch()} />
      ) : (
        <LiftFigures lift={lift.data} />
      )}
    </section>
  );
}

function LiftFigures({ lift }: { lift: ExperimentLift }) {
  const proportions = [
    { kpi: `Lead to SQL (${lift.lead_to_sql.horizon_days} d)`, ...lift.lead_to_sql },
    { kpi: `Lead to opportunity (${lift.lead_to_opportunity.horizon_days} d)`, ...lift.lead_to_opportunity },
  ];
  const chart = proportions
    .filter((p) => p.difference !== null && p.interval !== null)
    .map((p) => ({
      kpi: p.kpi,
      difference: p.difference! * 100,
      error: [(p.difference! - p.interval!.low) * 100, (p.interval!.high - p.difference!) * 100],
    }));
  return (
    <>
      <p className="muted">
        Leads that entered the funnel from {formatDateTime(lift.from)} to {formatDateTime(lift.to)}:{' '}
        {lift.subjects.treatment} treated, {lift.subjects.holdout} in the holdout (observed share{' '}
        {formatPercent(lift.subjects.observed_holdout_share, 1)}); {lift.decisions.holdout_blocked} proposals
        for holdout subjects were blocked. Intervals are 95 %.
      </p>
      <ScrollTable label="Treatment against holdout, with 95 % intervals">
        <table className="grid lift-table">
          <caption className="sr-only">Treatment against holdout, with 95 % intervals</caption>
          <thead>
            <tr>
              <th scope="col">KPI</th>
              <th scope="col">Treatment</th>
              <th scope="col">Holdout</th>
              <th scope="col">Lift</th>
              <th scope="col">95 % interval</th>
            </tr>
          </thead>
          <tbody>
            {proportions.map((p) => (
              <tr key={p.kpi}>
                <th scope="row">{p.kpi}</th>
                <td className="num">
                  {formatPercent(p.treatment.rate, 1)}
                  <div className="muted small">
                    {p.treatment.x}/{p.treatment.n}
                  </div>
                </td>
                <td className="num">
                  {formatPercent(p.holdout.rate, 1)}
                  <div className="muted small">
                    {p.holdout.x}/{p.holdout.n}
                  </div>
                </td>
                <td className="num">{points(p.difference)}</td>
                <td className="num">{interval(p.interval, points)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">Median days to SQL</th>
              <td className="num">
                {formatNumber(lift.days_to_sql.treatment.median, 1)}
                <div className="muted small">n {lift.days_to_sql.treatment.n}</div>
              </td>
              <td className="num">
                {formatNumber(lift.days_to_sql.holdout.median, 1)}
                <div className="muted small">n {lift.days_to_sql.holdout.n}</div>
              </td>
              <td className="num">{days(lift.days_to_sql.difference)}</td>
              <td className="num">{interval(lift.days_to_sql.interval, days)}</td>
            </tr>
          </tbody>
        </table>
      </ScrollTable>
      {chart.length > 0 ? (
        <div
          className="chart"
          role="img"
          aria-label={`Lift in percentage points with 95 % intervals: ${chart
            .map((c) => `${c.kpi} ${c.difference.toFixed(1)}`)
            .join(', ')}`}
        >
          <ResponsiveContainer width="100%" height={160}>
            <BarChart
              accessibilityLayer={false}
              layout="vertical"
              data={chart}
              margin={{ top: 8, right: 24, bottom: 8, left: 8 }}
            >
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis type="number" tickFormatter={(v: number) => `${v} pp`} />
              <YAxis type="category" dataKey="kpi" width={150} />
              <Tooltip formatter={(v) => `${Number(v).toFixed(1)} pp`} />
              <ReferenceLine x={0} stroke="#535b66" />
              <Bar dataKey="difference" name="lift" fill="#1f5fbf" isAnimationActive={false}>
                <ErrorBar dataKey="error" width={6} stroke="#1b1f24" direction="x" />
              </Bar>
            </BarChart>
          </ResponsiveContainer>
        </div>
      ) : null}
    </>
  );
}

function RoiCard() {
  const [since, setSince] = useState('90d');
  const roi = useQuery({
    queryKey: ['roi', since],
    queryFn: ({ signal }) => api<RoiReport>(`/v1/reports/roi?since=${since}`, { signal }),
  });
  return (
    <section className="card" aria-labelledby="roi-title">
      <h2 id="roi-title">Return on the automation</h2>
      <form className="filters" aria-label="ROI period" onSubmit={(e) => e.preventDefault()}>
        <label>
          Since
          <select value={since} onChange={(e) => setSince(e.target.value)}>
            <option value="30d">30 days</option>
            <option value="90d">90 days</option>
            <option value="365d">a year</option>
          </select>
        </label>
      </form>
      {roi.isPending ? (
        <Loading what="the ROI report" />
      ) : roi.isError ? (
        <ErrorNotice error={roi.error} retry={() => void roi.refetch()} />
      ) : (
        <>
          <dl className="facts" data-testid="roi-summary">
            <div>
              <dt>Human hours in review</dt>
              <dd>{formatNumber(roi.data.review.hours, 1)}</dd>
            </div>
            <div>
              <dt>Reviews</dt>
              <dd>
                {roi.data.review.reviews} by {roi.data.review.reviewers}
              </dd>
            </div>
            <div>
              <dt>Executed automatically</dt>
              <dd>{roi.data.automatic_executions}</dd>
            </div>
          </dl>
          {roi.data.experiments.length === 0 ? (
            <p className="muted">No experiment to measure the effect on conversion and cycle time against.</p>
          ) : (
            <ScrollTable label="Effect per experiment, with 95 % intervals">
              <table className="grid">
                <caption className="sr-only">Effect per experiment, with 95 % intervals</caption>
                <thead>
                  <tr>
                    <th scope="col">Experiment</th>
                    <th scope="col">Lead to SQL</th>
                    <th scope="col">Lead to opportunity</th>
                    <th scope="col">Days to SQL</th>
                  </tr>
                </thead>
                <tbody>
                  {roi.data.experiments.map((e) => (
                    <tr key={e.experiment.id}>
                      <th scope="row">{e.experiment.name}</th>
                      <td className="num">
                        {points(e.lead_to_sql.difference)}
                        <div className="muted small">{interval(e.lead_to_sql.interval, points)}</div>
                      </td>
                      <td className="num">
                        {points(e.lead_to_opportunity.difference)}
                        <div className="muted small">{interval(e.lead_to_opportunity.interval, points)}</div>
                      </td>
                      <td className="num">
                        {days(e.days_to_sql.difference)}
                        <div className="muted small">{interval(e.days_to_sql.interval, days)}</div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollTable>
          )}
        </>
      )}
    </section>
  );
}

function StartForm({ onStarted }: { onStarted: (name: string) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [share, setShare] = useState('10');
  const [description, setDescription] = useState('');
  const start = useMutation({
    mutationFn: () =>
      api<Experiment>('/v1/experiments', {
        method: 'POST',
        body: {
          name: name.trim(),
          holdout_share: Number(share) / 100,
          ...(description.trim() ? { description: description.trim() } : {}),
        },
      }),
    onSuccess: (row) => {
      setName('');
      setDescription('');
      void queryClient.invalidateQueries({ queryKey: ['experiments'] });
      void queryClient.invalidateQueries({ queryKey: ['roi'] });
      onStarted(row.name);
    },
  });
  return (
    <section className="card" aria-labelledby="start-title">
      <h2 id="start-title">Start an experiment</h2>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          start.mutate();
        }}
      >
        <label>
          Name
          <input
            value={name}
            required
            pattern="[a-z0-9][a-z0-9._\-]{0,99}"
            title="lower-case letters, digits, . _ -"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          Holdout share (%)
          <input
            type="number"
            className="short"
            min={1}
            max={50}
            step={1}
            required
            value={share}
            onChange={(e) => setShare(e.target.value)}
          />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <button type="submit" disabled={start.isPending}>
          Start
        </button>
      </form>
      {start.isError ? (
        <p className="field-error" role="alert">
          {describeError(start.error)}
        </p>
      ) : null}
    </section>
  );
}
