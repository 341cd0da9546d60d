// The lead-scoring model: versions with their holdout metrics, calibration, champion and challenger, and
// promotion and rollback (the server applies the same evaluation gate and access rules as the API).
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
  ZAxis,
} from 'recharts';
import { api, describeError } from '../api.ts';
import { ReasonDialog } from '../components/ReasonDialog.tsx';
import { Empty, ErrorNotice, type Flash, FlashBanner, Loading } from '../components/States.tsx';
import { formatDateTime, formatNumber, formatPercent } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import { useSignedIn } from '../session.tsx';
import type { ModelVersion } from '../types.ts';

const MODEL = 'lead_score';
const COLORS = ['#1f5fbf', '#c4661f', '#2e7d4f', '#7b3fa0'];

export function ModelsPage() {
  useDocumentTitle('Models');
  const session = useSignedIn();
  const canManage = session.can('policy');
  const queryClient = useQueryClient();
  const [plotted, setPlotted] = useState<number[] | null>(null);
  const [action, setAction] = useState<{ kind: 'promote' | 'rollback'; version?: number } | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);

  const models = useQuery({
    queryKey: ['models', MODEL],
    queryFn: ({ signal }) => api<{ items: ModelVersion[] }>(`/v1/models/${MODEL}`, { signal }),
  });
  const change = useMutation({
    mutationFn: (input: { kind: 'promote' | 'rollback'; version?: number; reason: string }) =>
      input.kind === 'promote'
        ? api(`/v1/models/${MODEL}/promote`, {
            method: 'POST',
            body: { version: input.version, reason: input.reason },
          })
        : api<{ from: number | null; to: number }>(`/v1/models/${MODEL}/rollback`, {
            method: 'POST',
            body: { reason: input.reason },
          }),
    onSuccess: (_r, input) => {
      setFlash({
        kind: 'ok',
        text:
          input.kind === 'promote'
            ? `Version ${input.version} is champion now.`
            : 'Rolled back to the previous champion.',
      });
      void queryClient.invalidateQueries({ queryKey: ['models'] });
    },
    onError: (error) => setFlash({ kind: 'error', text: describeError(error) }),
  });

  if (models.isPending) return <Loading what="the models" />;
  if (models.isError) return <ErrorNotice error={models.error} retry={() => void models.refetch()} />;
  const versions = [...models.data.items].sort((a, b) => b.version - a.version);
  const champion = versions.find((v) => v.aliases?.includes('champion'));
  const challenger = versions.find((v) => v.aliases?.includes('challenger'));
  const shown =
    plotted ?? [champion?.version, challenger?.version].filter((v): v is number => v !== undefined);

  return (
    <section className="page" aria-labelledby="models-title">
      <div className="page-head">
        <h1 id="models-title">Models</h1>
        <p className="muted">
          {MODEL}: the probability that a lead becomes an SQL within 30 days. Metrics are on a held-out later
          time window the model never saw.
        </p>
      </div>
      <FlashBanner flash={flash} />
      {versions.length === 0 ? (
        <Empty title="No model trained yet.">
          <p>
            Until one is, leads are scored by a transparent prior. Train one with{' '}
            <code>funnelgate model train</code>.
          </p>
        </Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table className="grid">
              <caption className="sr-only">Model versions</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Role</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Trained</th>
                  <th scope="col">Holdout rows</th>
                  <th scope="col">ROC AUC</th>
                  <th scope="col">PR AUC</th>
                  <th scope="col">Brier</th>
                  <th scope="col">ECE</th>
                  <th scope="col">Lift@10 %</th>
                  <th scope="col">Plot</th>
                  {canManage ? (
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => {
                  const m = v.metrics?.holdout ?? {};
                  return (
                    <tr key={v.version}>
                      <th scope="row">v{v.version}</th>
                      <td>
                        {(v.aliases ?? []).map((a) => (
                          <span key={a} className={`badge badge-${a}`}>
                            {a}
                          </span>
                        ))}
                      </td>
                      <td>{v.kind}</td>
                      <td>
                        {formatDateTime(v.trained_at)}
                        <div className="muted small">{v.trained_by}</div>
                      </td>
                      <td className="num">{v.holdout_rows ?? '–'}</td>
                      <td className="num">{formatNumber(m['roc_auc'], 3)}</td>
                      <td className="num">{formatNumber(m['pr_auc'], 3)}</td>
                      <td className="num">{formatNumber(m['brier'], 4)}</td>
                      <td className="num">{formatPercent(m['ece'], 1)}</td>
                      <td className="num">{formatNumber(m['lift_at_10'], 1)}</td>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Plot the calibration of v${v.version}`}
                          checked={shown.includes(v.version)}
                          onChange={(e) =>
                            setPlotted(
                              e.target.checked ? [...shown, v.version] : shown.filter((x) => x !== v.version),
                            )
                          }
                        />
                      </td>
                      {canManage ? (
                        <td>
                          {!v.aliases?.includes('champion') ? (
                            <button
                              type="button"
                              className="small secondary"
                              onClick={() => setAction({ kind: 'promote', version: v.version })}
                            >
                              Promote
                            </button>
                          ) : null}
                        </td>
                      ) : null}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {canManage ? (
            <p>
              <button type="button" className="secondary" onClick={() => setAction({ kind: 'rollback' })}>
                Roll back to the previous champion
              </button>{' '}
              <span className="muted">
                Promotion is refused unless the version beats the champion on the same holdout.
              </span>
            </p>
          ) : (
            <p className="muted">Promoting and rolling back need the policy_owner or admin role.</p>
          )}
          <div className="columns">
            <RocPlot versions={versions.filter((v) => shown.includes(v.version))} />
            <CalibrationPlot versions={versions.filter((v) => shown.includes(v.version))} />
          </div>
        </>
      )}
      <ReasonDialog
        open={action !== null}
        title={
          action?.kind === 'promote' ? `Promote v${action.version} to champion` : 'Roll back the champion'
        }
        subject="Say why; the audit trail keeps it."
        confirm={action?.kind === 'promote' ? 'Promote' : 'Roll back'}
        minLength={3}
        busy={change.isPending}
        onClose={() => setAction(null)}
        onSubmit={(reason) => {
          if (action) change.mutate({ ...action, reason });
          setAction(null);
        }}
      />
    </section>
  );
}

function RocPlot({ versions }: { versions: ModelVersion[] }) {
  const withCurve = versions.filter((v) => (v.metrics?.roc_curve ?? []).length > 1);
  return (
    <section className="card" aria-labelledby="roc-title">
      <h2 id="roc-title">ROC on the holdout</h2>
      <p className="muted">
        How many of the leads that converted (true positive rate) the model ranks above a threshold, against
        how many that did not (false positive rate). The diagonal is a coin toss; the area under the curve is
        the ROC AUC in the table.
      </p>
      {withCurve.length === 0 ? (
        <p className="muted">
          {versions.length === 0
            ? 'Choose a version to plot.'
            : 'These versions were trained before ROC curves were stored; their ROC AUC is in the table.'}
        </p>
      ) : (
        <div
          className="chart"
          role="img"
          aria-label={`ROC curves of ${withCurve
            .map((v) => `v${v.version} (AUC ${formatNumber(v.metrics?.holdout?.['roc_auc'], 3)})`)
            .join(', ')}`}
        >
          <ResponsiveContainer width="100%" height={320}>
            <ScatterChart accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                type="number"
                dataKey="fpr"
                domain={[0, 1]}
                name="false positive rate"
                tickFormatter={(v: number) => `${Math.round(v * 100)}%`}
                label={{ value: 'false positive rate', position: 'insideBottom', offset: -12 }}
              />
              <YAxis
                type="number"
                dataKey="tpr"
                domain={[0, 1]}
                name="true positive rate"
                tickFormatter={(v: number) => `${Math.round(v * 100)}%`}
              />
              <Tooltip formatter={(value) => Number(value).toFixed(3)} />
              <Legend verticalAlign="top" />
              <Scatter
                name="chance"
                data={[
                  { fpr: 0, tpr: 0 },
                  { fpr: 1, tpr: 1 },
                ]}
                line={{ stroke: '#8a929c', strokeDasharray: '4 4' }}
                shape={() => <g />}
                fill="#8a929c"
                isAnimationActive={false}
              />
              {withCurve.map((v, i) => (
                <Scatter
                  key={v.version}
                  name={`v${v.version}`}
                  data={v.metrics?.roc_curve ?? []}
                  fill={COLORS[i % COLORS.length]}
                  line={{ stroke: COLORS[i % COLORS.length], strokeWidth: 2 }}
                  shape={() => <g />}
                  isAnimationActive={false}
                />
              ))}
            </ScatterChart>
          </ResponsiveContainer>
        </div>
      )}
    </section>
  );
}

function CalibrationPlot({ versions }: { versions: ModelVersion[] }) {
  const withCurve = versions.filter((v) => (v.calibration_curve ?? []).length > 0);
  return (
    <section className="card" aria-labelledby="calibration-title">
      <h2 id="calibration-title">Calibration on the holdout</h2>
      <p className="muted">
        Each point is a bin of leads: the mean predicted probability against the share that converted. On the
        diagonal, a “30 %” means 30 %. The point size is the number of leads in the bin.
      </p>
      {withCurve.length === 0 ? (
        <p className="muted">Choose a version with a calibration curve to plot.</p>
      ) : (
        <div
          className="chart"
          role="img"
          aria-label={`Calibration plot of ${withCurve.map((v) => `v${v.version}`).join(', ')}`}
        >
          <ResponsiveContainer width="100%" height={320}>
            <ScatterChart accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                type="number"
                dataKey="predicted"
                domain={[0, 1]}
                name="predicted"
                tickFormatter={(v: number) => `${Math.round(v * 100)}%`}
                label={{ value: 'predicted', position: 'insideBottom', offset: -12 }}
              />
              <YAxis
                type="number"
                dataKey="observed"
                domain={[0, 1]}
                name="observed"
                tickFormatter={(v: number) => `${Math.round(v * 100)}%`}
              />
              <ZAxis type="number" dataKey="count" range={[30, 300]} name="leads" />
              <Tooltip formatter={(value) => Number(value).toFixed(3)} />
              <Legend verticalAlign="top" />
              <Scatter
                name="perfect"
                data={[
                  { predicted: 0, observed: 0, count: 1 },
                  { predicted: 1, observed: 1, count: 1 },
                ]}
                line={{ stroke: '#8a929c', strokeDasharray: '4 4' }}
                shape={() => <g />}
                fill="#8a929c"
                isAnimationActive={false}
              />
              {withCurve.map((v, i) => (
                <Scatter
                  key={v.version}
                  name={`v${v.version}`}
                  data={(v.calibration_curve ?? []).map((b) => ({
                    predicted: b.meanPredicted,
                    observed: b.observedRate,
                    count: b.count,
                  }))}
                  fill={COLORS[i % COLORS.length]}
                  line
                  isAnimationActive={false}
                />
              ))}
            </ScatterChart>
          </ResponsiveContainer>
        </div>
      )}
      {withCurve.map((v) => (
        <details key={v.version}>
          <summary>Bins of v{v.version}</summary>
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">Scored</th>
                <th scope="col">Leads</th>
                <th scope="col">Predicted</th>
                <th scope="col">Converted</th>
              </tr>
            </thead>
            <tbody>
              {(v.calibration_curve ?? []).map((b) => (
                <tr key={b.bin}>
                  <td>
                    {formatPercent(b.lower)}–{formatPercent(b.upper)}
                  </td>
                  <td className="num">{b.count}</td>
                  <td className="num">{formatPercent(b.meanPredicted, 1)}</td>
                  <td className="num">{formatPercent(b.observedRate, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ))}
    </section>
  );
}
