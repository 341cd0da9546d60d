// `funnelgate model eval`: measure how well the scoring models would do on a user's own export before anyone
// trusts them. Reads any CSV (delimiter detected, quoted fields, a BOM), infers the column types, and prints
// out-of-fold (or latest-holdout) ROC AUC, PR AUC, Brier, log loss, ECE, lift at 10 % and the calibration table.
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { parse } from 'csv-parse';
import { Command, Option } from 'commander';
import { AppError } from '../../errors.ts';
import {
  CALIBRATION_KINDS,
  evaluate,
  MODEL_KINDS,
  ROW_ORDER,
  type CalibrationKind,
  type Evaluation,
  type ModelKind,
  type Row,
} from '../../models/ml/index.ts';
import { printResult, table } from '../output.ts';

const DELIMITERS: Record<string, string> = {
  auto: 'auto',
  ',': ',',
  ';': ';',
  tab: '\t',
  '\t': '\t',
  '|': '|',
};

interface EvalOptions {
  csv: string;
  label: string;
  positive?: string;
  drop: string[];
  orderBy?: string;
  trainShare: string;
  folds: string;
  delimiter: string;
  models: string;
  calibration: CalibrationKind;
  seed: string;
  json?: boolean;
}

/** The `model` command; other model subcommands (registry, promotion) are added through `extra`. */
export function modelCommand(extra: Command[] = []): Command {
  const command = new Command('model').description('Evaluate and manage the scoring models');
  command.addCommand(evalCommand());
  for (const sub of extra) command.addCommand(sub);
  return command;
}

function evalCommand(): Command {
  return new Command('eval')
    .description(
      'Measure lead scoring on your own CSV export before trusting it: trains logistic regression and gradient-' +
        'boosted trees and reports how they score rows they did not train on — stratified k-fold ' +
        'cross-validation, or with --order-by a time-ordered holdout (train on the earliest 80 %, test on the ' +
        'latest 20 %), the honest split when the outcome rate drifts over time. Column types are inferred; ' +
        'drop identifiers and anything known only after the outcome with --drop.',
    )
    .requiredOption('--csv <file>', 'the CSV file, with a header row')
    .requiredOption('--label <column>', 'the outcome column')
    .option(
      '--positive <value>',
      'the label value that counts as positive (guessed for 0/1, yes/no, true/false)',
    )
    .option(
      '--drop <columns>',
      'columns not to learn from, comma-separated (repeatable)',
      (value: string, previous: string[]) => [
        ...previous,
        ...value
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      ],
      [] as string[],
    )
    .option(
      '--order-by <column>',
      `a column that orders the rows in time (numbers or dates), or ${ROW_ORDER} when the rows are in time order`,
    )
    .option('--train-share <share>', 'share of the earliest rows trained on with --order-by', '0.8')
    .option('--folds <k>', 'folds of the cross-validation without --order-by', '5')
    .option('--delimiter <char>', 'field delimiter: auto, ",", ";", tab or "|"', 'auto')
    .option(
      '--models <kinds>',
      `models to evaluate, comma-separated: ${MODEL_KINDS.join(', ')}`,
      MODEL_KINDS.join(','),
    )
    .addOption(
      new Option('--calibration <kind>', 'how probabilities are calibrated (fitted out of fold)')
        .choices(CALIBRATION_KINDS)
        .default('platt'),
    )
    .option('--seed <n>', 'random seed of folds and subsamples', '42')
    .option('--json', 'print the result as JSON')
    .action(async (options: EvalOptions) => {
      const settings = {
        folds: wholeNumber(options.folds, '--folds', 2, 100),
        seed: wholeNumber(options.seed, '--seed', 0, 2_147_483_647),
        trainFraction: share(options.trainShare),
        kinds: modelKinds(options.models),
        delimiter: DELIMITERS[options.delimiter],
      };
      if (!settings.delimiter) {
        throw new AppError(
          'bad_request',
          `--delimiter must be auto, ",", ";", tab or "|", not "${options.delimiter}"`,
        );
      }
      if (!existsSync(options.csv) || !statSync(options.csv).isFile()) {
        throw new AppError('not_found', `No CSV file at ${options.csv}`);
      }
      const file = await readCsvRows(options.csv, settings.delimiter);
      const progress = options.json || !process.stderr.isTTY ? undefined : progressBar();
      let result: Evaluation;
      try {
        result = evaluate({
          rows: file.rows,
          label: options.label,
          ...(options.positive !== undefined ? { positive: options.positive } : {}),
          drop: options.drop,
          ...(options.orderBy ? { orderBy: options.orderBy, trainFraction: settings.trainFraction } : {}),
          folds: settings.folds,
          kinds: settings.kinds,
          calibration: options.calibration,
          seed: settings.seed,
          ...(progress ? { onProgress: progress.update } : {}),
        });
      } finally {
        progress?.stop();
      }
      const report = {
        file: options.csv,
        delimiter: file.delimiter,
        skipped_rows: file.skipped,
        ...result,
      };
      printResult(Boolean(options.json), report, () => describe(options, file, result));
    });
}

// ---- reading the file ----------------------------------------------------------------------------------------

interface CsvRows {
  rows: Row[];
  columns: string[];
  delimiter: string;
  /** Records with more or fewer fields than the header, left out. */
  skipped: number;
}

async function readCsvRows(file: string, delimiter: string): Promise<CsvRows> {
  const chosen = delimiter === 'auto' ? detectDelimiter(await firstLine(file)) : delimiter;
  const parser = createReadStream(file).pipe(
    parse({
      delimiter: chosen,
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      record_delimiter: ['\r\n', '\n', '\r'],
    }),
  );
  let columns: string[] | undefined;
  const rows: Row[] = [];
  let skipped = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!columns) {
        columns = headerNames(record);
        continue;
      }
      if (record.every((field) => field.trim() === '')) continue;
      if (record.length !== columns.length) {
        skipped++;
        continue;
      }
      const row: Row = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = record[i];
      rows.push(row);
    }
  } catch (error) {
    throw new AppError('validation_failed', `${file} cannot be read as CSV: ${(error as Error).message}`);
  }
  if (!columns) throw new AppError('validation_failed', `${file} is empty: there is no header row`);
  if (rows.length === 0) throw new AppError('validation_failed', `${file} has a header but no rows`);
  return { rows, columns, delimiter: chosen, skipped };
}

async function firstLine(file: string): Promise<string> {
  let text = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
    text += chunk as string;
    const end = text.search(/\r\n|\n|\r/);
    if (end >= 0) return text.slice(0, end);
    if (text.length > 1024 * 1024) break;
  }
  return text;
}

/** The most frequent of , ; tab | outside quotes in the header line; a comma when none occurs. */
function detectDelimiter(line: string): string {
  const counts = new Map([',', ';', '\t', '|'].map((d) => [d, 0]));
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > counts.get(best)!) best = delimiter;
  return best;
}

/** Header names, trimmed; a blank one becomes column_N and a repeated one gets " (2)", " (3)"... */
function headerNames(fields: string[]): string[] {
  const seen = new Map<string, number>();
  return fields.map((field, i) => {
    const name = field.trim() || `column_${i + 1}`;
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name} (${count})`;
  });
}

// ---- options -------------------------------------------------------------------------------------------------

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new AppError('bad_request', `${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return number;
}

function share(value: string): number {
  const number = Number(value);
  if (!(number > 0 && number < 1)) {
    throw new AppError(
      'bad_request',
      `--train-share must be a number between 0 and 1, such as 0.8, not "${value}"`,
    );
  }
  return number;
}

function modelKinds(value: string): ModelKind[] {
  const kinds = [...new Set(value.split(',').map((k) => k.trim()))].filter(Boolean);
  const unknown = kinds.filter((k) => !(MODEL_KINDS as readonly string[]).includes(k));
  if (kinds.length === 0 || unknown.length > 0) {
    throw new AppError(
      'bad_request',
      `--models takes ${MODEL_KINDS.join(' and/or ')}, comma-separated, not "${value}"`,
    );
  }
  return kinds as ModelKind[];
}

function progressBar() {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'evaluating |{bar}| {value}/{total} fits | {model} | ETA {eta_formatted}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p: { done: number; total: number; kind: ModelKind }) => {
      if (!started) {
        bar.start(p.total, 0, { model: p.kind });
        started = true;
      }
      bar.update(p.done, { model: p.kind });
    },
    stop: () => started && bar.stop(),
  };
}

// ---- output --------------------------------------------------------------------------------------------------

const KIND_NAMES: Record<ModelKind, string> = {
  logistic: 'logistic regression',
  gbt: 'gradient-boosted trees',
};

function describe(options: EvalOptions, file: CsvRows, result: Evaluation): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const f = (value: number, digits = 4) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
  const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
  const delimiter = file.delimiter === '\t' ? 'tab' : `"${file.delimiter}"`;
  const lines = [
    `${path.basename(options.csv)}: ${n(file.rows.length)} rows, ${file.columns.length} columns, delimiter ${delimiter}` +
      (file.skipped > 0 ? `; ${n(file.skipped)} rows with the wrong number of fields left out` : ''),
    `Label "${result.label}" = "${result.positive}": ${n(result.positives)} positive of ${n(result.rows)} ` +
      `(${percent(result.baseRate)})` +
      (result.unlabelled > 0 ? `; ${n(result.unlabelled)} rows without a label left out` : ''),
  ];
  const split = result.split;
  if (split.kind === 'stratified-k-fold') {
    lines.push(
      `Split: stratified ${split.folds}-fold cross-validation (seed ${split.seed}); figures on all ${n(result.testRows)} ` +
        'out-of-fold predictions',
    );
  } else {
    lines.push(
      `Split: time-ordered by ${split.orderBy === ROW_ORDER ? 'row order' : `"${split.orderBy}"`}: trained on the ` +
        `first ${n(split.trainRows)} rows (${percent(split.trainPositiveRate)} positive), tested on the latest ` +
        `${n(split.testRows)} (${percent(split.testPositiveRate)} positive)` +
        (split.unorderedRows > 0
          ? `; ${n(split.unorderedRows)} rows without "${split.orderBy}" left out`
          : ''),
    );
    const drift = split.testPositiveRate / split.trainPositiveRate;
    if (drift > 1.5 || drift < 1 / 1.5) {
      lines.push(
        `  The positive rate changed ${drift.toFixed(1)}x between the two periods: probabilities learned from the ` +
          'past are off in the test period (see ECE), while the ranking (ROC AUC) may still hold',
      );
    }
  }
  const used = result.columns.used;
  lines.push(
    `Columns: ${used.length} used (${used.filter((c) => c.type === 'numeric').length} numeric, ` +
      `${used.filter((c) => c.type === 'categorical').length} categorical)` +
      (options.drop.length > 0 ? `; dropped: ${options.drop.join(', ')}` : ''),
  );
  for (const c of result.columns.ignored) lines.push(`  ignored "${c.name}": ${c.reason}`);
  lines.push(
    `Probabilities calibrated: ${result.models[0]?.calibration ?? 'none'} (fitted out of fold on each training set)`,
    '',
    table(
      result.models.map((m) => ({
        model: KIND_NAMES[m.kind],
        'ROC AUC': f(m.rocAuc),
        ...(split.kind === 'stratified-k-fold' ? { 'fold mean ± sd': foldSpread(m.rocAucFolds) } : {}),
        'PR AUC': f(m.prAuc),
        Brier: f(m.brier),
        'log loss': f(m.logLoss),
        ECE: f(m.ece),
        'lift@10%': f(m.liftAt10, 2),
        'fit s': m.fitSeconds.toFixed(1),
      })),
      [
        'model',
        'ROC AUC',
        ...(split.kind === 'stratified-k-fold' ? ['fold mean ± sd'] : []),
        'PR AUC',
        'Brier',
        'log loss',
        'ECE',
        'lift@10%',
        'fit s',
      ],
    ),
  );
  for (const m of result.models) {
    lines.push(
      '',
      `Calibration, ${KIND_NAMES[m.kind]} (equal-width bins of predicted probability):`,
      table(
        m.calibrationTable.map((bin) => ({
          predicted: `${bin.lower.toFixed(1)}-${bin.upper.toFixed(1)}`,
          rows: n(bin.count),
          'mean predicted': f(bin.meanPredicted, 3),
          observed: f(bin.observedRate, 3),
          positives: n(bin.positives),
        })),
        ['predicted', 'rows', 'mean predicted', 'observed', 'positives'],
      ),
    );
  }
  return lines.join('\n');
}

function foldSpread(values: number[]): string {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return `${mean.toFixed(4)} ± ${sd.toFixed(4)}`;
}
