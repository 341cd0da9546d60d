// `node bench/forecast-maven.ts [--period quarter|month] [--periods N]` (or `npm run bench:forecast`)
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
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { backtest } from '../src/agents/forecast/backtest.ts';
import { loadOpportunityHistory } from '../src/agents/forecast/load-history.ts';
import type { PeriodKind } from '../src/agents/forecast/periods.ts';
import { importCsv, readMappingFile } from '../src/ingest/csv/import-csv.ts';
import { benchServer, freshDatabase, machine } from './lib.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.resolve(here, '../../shared/datasets/maven-crm-sales-opportunities');
const { values } = parseArgs({
  options: { period: { type: 'string', default: 'quarter' }, periods: { type: 'string' } },
});
const kind = values.period as PeriodKind;
const periods = Number(values.periods ?? (kind === 'quarter' ? 3 : 9));
const END = Date.parse('2018-01-01T00:00:00Z');

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
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)} %`);
  console.log(
    `\nMaven CRM backtest, ${kind}ly, ${machine()}, ${((performance.now() - fit) / 1000).toFixed(1)} s\n`,
  );
  console.log(
    '| period | actual | forecast (P10-P90) | error | last period | error | stage-weighted | error |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of result.periods) {
    console.log(
      `| ${p.period} | ${p.actual} | ${p.forecast} (${p.p10}-${p.p90}) | ${pct(p.error.forecast)} | ${p.last_period} | ${pct(p.error.last_period)} | ${p.stage_weighted} | ${pct(p.error.stage_weighted)} |`,
    );
  }
  console.log(
    `| **MAPE** | | | **${pct(result.mape.forecast)}** | | ${pct(result.mape.last_period)} | | ${pct(result.mape.stage_weighted)} |`,
  );
  console.log(
    `| **bias** | | | ${pct(result.bias.forecast)} | | ${pct(result.bias.last_period)} | | ${pct(result.bias.stage_weighted)} |`,
  );
  console.log(`\nActual inside P10-P90: ${pct(result.coverage_p10_p90)}`);
} finally {
  await target.drop();
  await server.stop();
}
