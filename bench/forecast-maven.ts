// `node bench/forecast-maven.ts [--period quarter|month] [--periods N] [--simulated]` (`npm run bench:forecast`)
// The forecast backtest on the Maven CRM sales pipeline (../shared/datasets/maven-crm-sales-opportunities):
// imports accounts.csv and sales_pipeline.csv through the example mappings into a fresh database (the same path
// as `funnelgate import csv`), loads the opportunity history the forecast reads, and backtests the last N
// periods of the data (as of 2018-01-01, the day after its last date). Skips when the data set is absent.
//
// The data set is a snapshot, not a history, so two things are neutralised to keep the backtest honest:
// - stages: each deal has one row dated at its close (Won/Lost) or engage date (Engaging). A deal still
//   "Engaging" at the end is the only one with a stage before closing, which would tell the model, at a past
//   date, that it never closes. Stages before the close are therefore all unknown.
// - amounts: close_value is recorded at the close only (0 for every lost deal), so before the close a deal's
//   value is unknown and the forecast uses the median won amount known at the time (as it does for any deal
//   without an amount).
// Prospecting rows have no dates at all (engage date empty) and are left out.
//
// `--simulated`: the same backtest on simulated worlds instead, no database (3,000 accounts, 24 months, +15 %
// new accounts per quarter, seeds 4-7, as in test/forecast/forecast.test.ts), pooled over the seeds.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { backtest } from '../src/agents/forecast/backtest.ts';
import { loadOpportunityHistory } from '../src/agents/forecast/load-history.ts';
import type { PeriodKind } from '../src/agents/forecast/periods.ts';
import { importCsv, readMappingFile } from '../src/ingest/csv/import-csv.ts';
import { simulatedOpportunities } from '../test/helpers/simulated-pipeline.ts';
import { benchServer, freshDatabase, machine } from './lib.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.resolve(here, '../../shared/datasets/maven-crm-sales-opportunities');
const { values } = parseArgs({
  options: {
    period: { type: 'string', default: 'quarter' },
    periods: { type: 'string' },
    simulated: { type: 'boolean', default: false },
  },
});
const kind = values.period as PeriodKind;
const END = Date.parse('2018-01-01T00:00:00Z');
const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)} %`);

if (values.simulated) {
  const periods = Number(values.periods ?? (kind === 'quarter' ? 4 : 12));
  const now = new Date('2026-06-01T00:00:00Z');
  const started = performance.now();
  const results = [4, 5, 6, 7].map((seed) => {
    const { opportunities } = simulatedOpportunities({
      accounts: 3000,
      months: 24,
      now,
      growthPerQuarter: 0.15,
      bottleneck: null,
      seed,
    });
    return backtest(opportunities, { asOf: now.getTime(), kind, periods });
  });
  const mean = (f: (r: (typeof results)[number]) => number) =>
    pct(results.reduce((sum, r) => sum + f(r), 0) / results.length);
  console.log(
    `Simulated worlds, seeds 4-7, the last ${periods} ${kind}s pooled, ${machine()}, ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s\n` +
      `MAPE: forecast ${mean((r) => r.mape.forecast)}, last period ${mean((r) => r.mape.last_period)}, ` +
      `stage-weighted ${mean((r) => r.mape.stage_weighted)}\n` +
      `bias (mean signed % error) ${mean((r) => r.bias.forecast)}, total ${mean((r) => r.total_error.forecast)}\n` +
      `Actual inside P10-P90 (nominal 80 %): ${mean((r) => r.coverage_p10_p90)} calibrated, width ` +
      `${mean((r) => r.width_p10_p90)} of the actual; Monte Carlo alone ${mean((r) => r.coverage_p10_p90_monte_carlo)}, ` +
      `width ${mean((r) => r.width_p10_p90_monte_carlo)}`,
  );
  process.exit(0);
}
const periods = Number(values.periods ?? (kind === 'quarter' ? 3 : 9));

if (!existsSync(path.join(DATA, 'sales_pipeline.csv'))) {
  console.log(`skipped: ${DATA} is not there`);
  process.exit(0);
}

const server = await benchServer();
const target = await freshDatabase(server, 'maven');
try {
  const started = performance.now();
  for (const [file, mapping] of [
    ['accounts.csv', 'maven-crm-accounts.yaml'],
    ['sales_pipeline.csv', 'maven-crm-sales-pipeline.yaml'],
  ] as const) {
    const result = await importCsv({
      db: target.db,
      file: path.join(DATA, file),
      mapping: await readMappingFile(path.resolve(here, '../examples/mappings', mapping)),
    });
    console.log(`imported ${file}: ${result.accepted} events accepted, ${result.quarantined} quarantined`);
  }
  const history = (await loadOpportunityHistory(target.db))
    .filter((o) => o.openedAt < END)
    .map((o) => ({ ...o, stages: o.stages.filter((s) => o.closedAt !== null && s.at >= o.closedAt) }));
  console.log(
    `${history.length} opportunities with an engage date; import ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const fit = performance.now();
  const result = backtest(history, { asOf: END, kind, periods });
  console.log(
    `\nMaven CRM backtest, ${kind}ly, ${machine()}, ${((performance.now() - fit) / 1000).toFixed(1)} s\n`,
  );
  console.log(
    '| period | actual | forecast (P10-P90) | Monte Carlo P10-P90 | n | error | last period | error | stage-weighted | error |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of result.periods) {
    console.log(
      `| ${p.period} | ${p.actual} | ${p.forecast} (${p.p10}-${p.p90}) | ${p.p10_monte_carlo}-${p.p90_monte_carlo} | ${p.calibration_periods} | ${pct(p.error.forecast)} | ${p.last_period} | ${pct(p.error.last_period)} | ${p.stage_weighted} | ${pct(p.error.stage_weighted)} |`,
    );
  }
  console.log(
    `| **MAPE** | | | | | **${pct(result.mape.forecast)}** | | ${pct(result.mape.last_period)} | | ${pct(result.mape.stage_weighted)} |`,
  );
  console.log(
    `| **bias** | | | | | ${pct(result.bias.forecast)} | | ${pct(result.bias.last_period)} | | ${pct(result.bias.stage_weighted)} |`,
  );
  console.log(
    `| **total** | | | | | ${pct(result.total_error.forecast)} | | ${pct(result.total_error.last_period)} | | ${pct(result.total_error.stage_weighted)} |`,
  );
  console.log(
    `\nActual inside P10-P90 (nominal 80 %): ${pct(result.coverage_p10_p90)} calibrated, mean width ${pct(result.width_p10_p90)} of the actual; ` +
      `Monte Carlo alone ${pct(result.coverage_p10_p90_monte_carlo)}, width ${pct(result.width_p10_p90_monte_carlo)} ` +
      `(n = earlier periods scored, of K = ${result.calibration_periods})`,
  );
} finally {
  await target.drop();
  await server.stop();
}
