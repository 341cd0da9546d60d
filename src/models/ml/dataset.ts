// From rows and the name of the outcome column to 0/1 labels and the list of input columns, with the errors a
// user needs when the label column is missing, has one class, or does not say which value is the positive one.
import { AppError } from '../../errors.ts';
import { categoryOf, isMissingValue, parseNumber, tableColumns, type Row } from './encode.ts';

export interface LabelSpec {
  /** The outcome column. */
  label: string;
  /** The value of the label column that counts as positive (default: guessed for 0/1, yes/no, true/false). */
  positive?: string;
  /** Columns not to use as inputs (identifiers, values known only after the outcome). */
  drop?: readonly string[];
}

export interface LabelledRows {
  /** Rows whose label is present, in their original order. */
  rows: Row[];
  labels: Uint8Array;
  label: string;
  positive: string;
  /** The input columns: every column but the label and the dropped ones. */
  inputs: string[];
  /** Rows left out because their label is missing. */
  unlabelled: number;
}

/** Label values taken as the positive outcome when `positive` is not given, in order of preference. */
const POSITIVE_WORDS = ['1', 'yes', 'y', 'true', 't', 'positive', 'won', 'win', 'converted', 'success'];

export function labelRows(rows: readonly Row[], spec: LabelSpec): LabelledRows {
  const columns = tableColumns(rows);
  if (rows.length === 0) throw new AppError('validation_failed', 'There are no rows to learn from');
  const available = () => columns.map((c) => `"${c}"`).join(', ');
  if (!columns.includes(spec.label)) {
    throw new AppError(
      'validation_failed',
      `There is no column "${spec.label}" to use as the label. The columns are: ${available()}`,
      { columns },
    );
  }
  const drop = [...new Set(spec.drop ?? [])];
  const unknown = drop.filter((c) => !columns.includes(c));
  if (unknown.length > 0) {
    throw new AppError(
      'validation_failed',
      `Cannot drop ${unknown.map((c) => `"${c}"`).join(', ')}: no such column. The columns are: ${available()}`,
      { columns },
    );
  }

  const labelled = rows.filter((row) => !isMissingValue(row[spec.label]));
  const counts = new Map<string, number>();
  for (const row of labelled) {
    const value = categoryOf(row[spec.label]);
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  const values = [...counts.keys()].sort();
  const positive = spec.positive ?? guessPositive(spec.label, values);
  const isPositive = positiveTest(positive);
  if (!values.some(isPositive)) {
    throw new AppError(
      'validation_failed',
      `No row has "${positive}" in the label column "${spec.label}"; its values are: ${list(values)}`,
      { values },
    );
  }
  const labels = Uint8Array.from(labelled, (row) => (isPositive(categoryOf(row[spec.label])) ? 1 : 0));
  if (labels.every((y) => y === 1)) {
    throw new AppError(
      'validation_failed',
      `Every labelled row has "${positive}" in "${spec.label}": a model needs rows of both outcomes`,
    );
  }
  return {
    rows: labelled,
    labels,
    label: spec.label,
    positive,
    inputs: columns.filter((c) => c !== spec.label && !drop.includes(c)),
    unlabelled: rows.length - labelled.length,
  };
}

function guessPositive(label: string, values: string[]): string {
  if (values.length < 2) {
    throw new AppError(
      'validation_failed',
      values.length === 0
        ? `The label column "${label}" is empty in every row`
        : `The label column "${label}" has only one value ("${values[0]}"): a model needs rows of both outcomes`,
      { values },
    );
  }
  if (values.length > 2) {
    throw new AppError(
      'validation_failed',
      `The label column "${label}" has ${values.length} values (${list(values)}); say which one is the ` +
        'positive outcome (--positive VALUE) and the others count as negative',
      { values },
    );
  }
  for (const word of POSITIVE_WORDS) {
    const match = values.find((v) => v.toLowerCase() === word || (word === '1' && parseNumber(v) === 1));
    if (match !== undefined) return match;
  }
  throw new AppError(
    'validation_failed',
    `Which value of "${label}" is the positive outcome, "${values[0]}" or "${values[1]}"? Say it with --positive`,
    { values },
  );
}

/** Matches the positive value as text, or as a number when both are numbers ("1" and "1.0"). */
function positiveTest(positive: string): (value: string) => boolean {
  const number = parseNumber(positive);
  return (value) => value === positive || (!Number.isNaN(number) && parseNumber(value) === number);
}

function list(values: string[]): string {
  const shown = values.slice(0, 10).map((v) => `"${v}"`);
  return values.length > 10 ? `${shown.join(', ')} and ${values.length - 10} more` : shown.join(', ');
}
