// `node_modules/.bin/node bench/model-eval.ts [--datasets DIR] [--only quality,timing]`
// The scoring models on the public data sets next to the scikit-learn reference figures quoted in
// docs/PRODUCT.md (same columns, same split), then training time and peak memory for 45,211 rows x 16 columns
// (bank-full without duration), each measured in a fresh process. Prints markdown; the latest figures live in
// bench/RESULTS.md. Skips with a message when the data sets are not there.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import {
  encodeTable,
  evaluate,
  fitEncoder,
  fitGbt,
  fitLogistic,
  labelRows,
  trainScorer,
  type Evaluation,
  type ModelKind,
  type Row,
} from '../src/models/ml/index.ts';

const { values } = parseArgs({
  options: {
    datasets: {
      type: 'string',
      default: fileURLToPath(new URL('../../shared/datasets/', import.meta.url)),
    },
    only: { type: 'string', default: 'quality,timing' },
    measure: { type: 'string' },
  },
});
const datasets = values.datasets;
const leadsFile = path.join(datasets, 'x-education-leads/Leads.csv');
const bankFile = path.join(datasets, 'uci-bank-marketing/bank-full.csv');

function readCsv(file: string, delimiter: string): Row[] {
  return parse(readFileSync(file), { columns: true, delimiter, bom: true, skip_empty_lines: true }) as Row[];
}

const IDS = ['Prospect ID', 'Lead Number'];
const AFTER_CONTACT = ['Tags', 'Lead Quality'];
const DOUBTFUL_TIMING = [
  'Last Activity',
  'Last Notable Activity',
  'Lead Profile',
  'Asymmetrique Activity Index',
  'Asymmetrique Profile Index',
  'Asymmetrique Activity Score',
  'Asymmetrique Profile Score',
];

interface Config {
  name: string;
  file: string;
  split: string;
  reference: Record<ModelKind, number | null>;
  run: () => Evaluation;
}

function configs(): Config[] {
  let leads: Row[] | undefined;
  let bank: Row[] | undefined;
  const leadRows = () => (leads ??= readCsv(leadsFile, ','));
  const bankRows = () => (bank ??= readCsv(bankFile, ';'));
  return [
    {
      name: 'X Education, strict pre-contact columns',
      file: 'Leads.csv',
      split: '5-fold',
      reference: { logistic: 0.86, gbt: 0.87 },
      run: () =>
        evaluate({
          rows: leadRows(),
          label: 'Converted',
          drop: [...IDS, ...AFTER_CONTACT, ...DOUBTFUL_TIMING],
        }),
    },
    {
      name: 'X Education, without Tags and Lead Quality',
      file: 'Leads.csv',
      split: '5-fold',
      reference: { logistic: 0.92, gbt: 0.94 },
      run: () => evaluate({ rows: leadRows(), label: 'Converted', drop: [...IDS, ...AFTER_CONTACT] }),
    },
    {
      name: 'X Education, without Tags and Lead Quality, Lead Number kept',
      file: 'Leads.csv',
      split: '5-fold',
      reference: { logistic: 0.92, gbt: 0.94 },
      run: () => evaluate({ rows: leadRows(), label: 'Converted', drop: ['Prospect ID', ...AFTER_CONTACT] }),
    },
    {
      name: 'bank-full, without duration',
      file: 'bank-full.csv',
      split: '5-fold',
      reference: { logistic: 0.77, gbt: 0.8 },
      run: () => evaluate({ rows: bankRows(), label: 'y', positive: 'yes', drop: ['duration'] }),
    },
    {
      name: 'bank-full, without duration',
      file: 'bank-full.csv',
      split: 'first 80 % / latest 20 %',
      reference: { logistic: 0.68, gbt: 0.68 },
      run: () =>
        evaluate({ rows: bankRows(), label: 'y', positive: 'yes', drop: ['duration'], orderBy: '__row__' }),
    },
  ];
}

const f = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function quality(): void {
  console.log(
    '\n| data set | split | model | ROC AUC | fold mean | scikit-learn | PR AUC | Brier | ECE | lift@10% | fit s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const config of configs()) {
    const result = config.run();
    for (const m of result.models) {
      const reference = config.reference[m.kind];
      const foldMean = result.split.kind === 'stratified-k-fold' ? f(m.rocAucFoldMean) : '';
      console.log(
        `| ${config.name} | ${config.split} | ${m.kind} | ${f(m.rocAuc)} | ${foldMean} | ` +
          `${reference === null ? '' : reference.toFixed(2)} | ${f(m.prAuc)} | ${f(m.brier)} | ${f(m.ece)} | ` +
          `${f(m.liftAt10, 2)} | ${m.fitSeconds.toFixed(1)} |`,
      );
    }
  }
}

// ---- timing and memory, one fresh process per measurement ----------------------------------------------------

const MEASUREMENTS = {
  'read CSV + label (baseline)': 'none',
  'logistic: encode + IRLS fit': 'logistic',
  'gbt: encode + 200 trees, no early stopping': 'gbt200',
  'gbt: encode + default fit (early stopping)': 'gbt',
  'scorer, gbt + Platt (3-fold cross-fitted)': 'scorer-gbt',
  'scorer, logistic + Platt (3-fold cross-fitted)': 'scorer-logistic',
} as const;

function measure(what: string): void {
  const rows = readCsv(bankFile, ';');
  const data = labelRows(rows, { label: 'y', positive: 'yes', drop: ['duration'] });
  const started = performance.now();
  let detail = '';
  if (what === 'logistic' || what === 'gbt' || what === 'gbt200') {
    const mode = what === 'logistic' ? 'linear' : 'tree';
    const encoder = fitEncoder(data.rows, data.labels, { mode, columns: data.inputs });
    const x = encodeTable(encoder, data.rows);
    if (what === 'logistic') {
      const model = fitLogistic(x, data.labels);
      detail = `${x.cols} features, ${model.iterations} Newton steps`;
    } else {
      const model = fitGbt(
        x,
        data.labels,
        what === 'gbt200' ? { iterations: 200, earlyStopping: false } : {},
      );
      detail = `${x.cols} features, ${model.trees.length} trees`;
    }
  } else if (what.startsWith('scorer-')) {
    const kind = what.slice('scorer-'.length) as ModelKind;
    const scorer = trainScorer({
      rows,
      label: 'y',
      positive: 'yes',
      drop: ['duration'],
      kind,
      calibration: 'platt',
    });
    const fitted = performance.now();
    const sample = rows.slice(0, 2000);
    scorer.predictMany(sample);
    const explainMs = (performance.now() - fitted) / sample.length;
    const batchStarted = performance.now();
    scorer.probabilities(rows);
    const batchSeconds = (performance.now() - batchStarted) / 1000;
    detail =
      `explained prediction ${explainMs.toFixed(2)} ms/row; ` +
      `probabilities for all rows ${batchSeconds.toFixed(2)} s`;
    process.stdout.write(
      JSON.stringify({
        seconds: (fitted - started) / 1000,
        maxRssMb: process.resourceUsage().maxRSS / 1024,
        rows: data.rows.length,
        detail,
      }),
    );
    return;
  }
  process.stdout.write(
    JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      rows: data.rows.length,
      detail,
    }),
  );
}

function timing(): void {
  console.log(
    `\nTraining on bank-full without duration (45,211 rows x 16 columns), each in a fresh process:\n`,
  );
  console.log('| what | fit s | peak RSS MB | detail |');
  console.log('|---|---|---|---|');
  for (const [label, what] of Object.entries(MEASUREMENTS)) {
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--datasets', datasets, '--measure', what],
      {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    if (child.status !== 0) throw new Error(`measuring ${what} failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout) as { seconds: number; maxRssMb: number; detail: string };
    console.log(
      `| ${label} | ${what === 'none' ? '' : r.seconds.toFixed(2)} | ${r.maxRssMb.toFixed(0)} | ${r.detail} |`,
    );
  }
}

if (values.measure) {
  measure(values.measure);
} else if (!existsSync(leadsFile) || !existsSync(bankFile)) {
  console.log(`Skipped: the public data sets are not at ${datasets} (pass --datasets DIR).`);
} else {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Funnelgate model evaluation — ${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ` +
      `Node ${process.version}`,
  );
  const only = new Set(values.only.split(','));
  if (only.has('quality')) quality();
  if (only.has('timing')) timing();
}
