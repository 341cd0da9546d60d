// Gauges computed by jobs (KPIs, drift, alarms) and stored in metric_snapshots, so every API process reports
// the same values and a scrape costs one small read instead of the queries behind them.
import { sql } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/database.ts';

export interface Snapshot {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The gauges and their help text; a job writes their values (a family at a time, under its `group`). */
export const SNAPSHOT_GAUGES: Record<string, { help: string; labels: string[]; group: string }> = {
  funnelgate_drift_psi: {
    help: 'Population stability index per feature (and "score") against the model training window',
    labels: ['feature'],
    group: 'monitoring',
  },
  funnelgate_calibration_ece: {
    help: 'Expected calibration error of scores on labelled outcomes',
    labels: ['model'],
    group: 'monitoring',
  },
  funnelgate_alarms_open: {
    help: 'Open monitoring alarms by kind and severity',
    labels: ['kind', 'severity'],
    group: 'monitoring',
  },
  funnelgate_connector_error_rate: {
    help: 'Share of deliveries dead-lettered over the last day, per connector',
    labels: ['connector'],
    group: 'monitoring',
  },
  funnelgate_kpi_auto_precision: {
    help: 'Precision of automatically executed decisions (last 30 days), per agent',
    labels: ['agent'],
    group: 'kpis',
  },
  funnelgate_kpi_review_rate: {
    help: 'Share of review verdicts (last 30 days): approve, reject, edit',
    labels: ['verdict'],
    group: 'kpis',
  },
  funnelgate_kpi_conversion_rate: {
    help: 'Lead conversion within its horizon, leads of the last 90 days whose window is over',
    labels: ['to'],
    group: 'kpis',
  },
  funnelgate_reviewer_queue: {
    help: 'Items waiting in each reviewer inbox',
    labels: ['reviewer'],
    group: 'kpis',
  },
  funnelgate_reviewer_queue_oldest_seconds: {
    help: 'Age of the oldest item in each reviewer inbox',
    labels: ['reviewer'],
    group: 'kpis',
  },
  funnelgate_forecast_won_value: {
    help: 'Latest forecast of won value per period: expected and the 10th, 50th and 90th percentiles',
    labels: ['period_kind', 'period', 'statistic'],
    group: 'kpis',
  },
  funnelgate_bottlenecks_open: {
    help: 'Open bottleneck findings by funnel object and kind (slowdown, conversion_drop)',
    labels: ['object', 'kind'],
    group: 'kpis',
  },
  funnelgate_experiment_lift: {
    help: 'Treatment minus holdout conversion to SQL, per experiment',
    labels: ['experiment'],
    group: 'kpis',
  },
};

/** Replaces the snapshot values of one group (a run's absent labels disappear). */
export async function writeSnapshots(db: Db, group: string, snapshots: readonly Snapshot[]): Promise<void> {
  const names = Object.entries(SNAPSHOT_GAUGES)
    .filter(([, g]) => g.group === group)
    .map(([n]) => n);
  await db.transaction().execute(async (trx) => {
    if (names.length) await trx.deleteFrom('metric_snapshots').where('name', 'in', names).execute();
    for (let i = 0; i < snapshots.length; i += 500) {
      await trx
        .insertInto('metric_snapshots')
        .values(
          snapshots.slice(i, i + 500).map((s) => ({
            name: s.name,
            labels: JSON.stringify(s.labels),
            value: Number.isFinite(s.value) ? s.value : 0,
            computed_at: new Date(),
          })),
        )
        .onConflict((oc) =>
          oc.columns(['name', 'labels']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
        )
        .execute();
    }
  });
}

/** Registers the snapshot gauges; one read of the table serves every gauge of a scrape. */
export function registerSnapshotGauges(registry: Registry, db: Db): void {
  let pending: Promise<Snapshot[]> | null = null;
  let readAt = 0;
  const read = () => {
    if (!pending || Date.now() - readAt > 1000) {
      readAt = Date.now();
      pending = sql<Snapshot>`select name, labels, value from metric_snapshots`
        .execute(db)
        .then((r) => r.rows)
        .catch(() => []);
    }
    return pending;
  };
  for (const [name, gauge] of Object.entries(SNAPSHOT_GAUGES)) {
    new Gauge({
      name,
      help: gauge.help,
      labelNames: gauge.labels,
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of await read()) if (s.name === name) this.set(s.labels, Number(s.value));
      },
    });
  }
}
