// Streams a CSV file record by record: decoded from its encoding, delimiter detected, parsed with csv-parse.
// The consumer pulls rows one at a time, so a slow consumer (the database) holds the file back and memory
// stays bounded however long the file is. Records the parser cannot read (a wrong number of fields, a broken
// quote) come out in their place as `broken`, with their text, instead of stopping the file.
import { pipeline, type Readable } from 'node:stream';
import { parse, type CsvError, type Options } from 'csv-parse';
import iconv from 'iconv-lite';
import { AppError } from '../../errors.ts';
import type { Mapping, Row } from './mapping.ts';

export type CsvOptions = Mapping['csv'];

export type CsvItem =
  | { kind: 'header'; columns: string[]; delimiter: string }
  | { kind: 'row'; rowNumber: number; row: Row }
  | { kind: 'broken'; rowNumber: number; row: Row; reason: string };

/** How far the reader has got in the input, for a progress bar. */
export interface ReadProgress {
  bytes: number;
}

const DETECTABLE = [',', ';', '\t', '|'];
/** A record larger than this is reported as broken rather than read into memory (an unclosed quote, usually). */
const MAX_RECORD_CHARS = 8 * 1024 * 1024;

export async function* readCsv(
  input: Readable,
  options: CsvOptions,
  progress?: ReadProgress,
): AsyncGenerator<CsvItem> {
  if (progress) input.on('data', (chunk: Buffer) => (progress.bytes += chunk.length));
  const decoded = pipeline(input, iconv.decodeStream(options.encoding), () => undefined);
  const chunks = decoded[Symbol.asyncIterator]() as AsyncIterator<string>;
  let head = '';
  while (countLines(head) <= options.skip_lines && head.length < 1024 * 1024) {
    const next = await chunks.next();
    if (next.done) break;
    head += next.value;
  }
  const delimiter = chooseDelimiter(options.delimiter, headerLine(head, options.skip_lines), options.quote);

  let seq = 0;
  const skipped: { seq: number; error: CsvError | undefined; raw: string | undefined }[] = [];
  const parser = parse({
    delimiter,
    quote: options.quote,
    from_line: options.skip_lines + 1,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    relax_column_count: false,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
    raw: true,
    // Both callbacks run in file order as the parser goes; numbering them lets skipped records be put back
    // between the parsed ones, which arrive later through the stream's buffer.
    on_record: ((record: { record: string[] }) => ({
      seq: ++seq,
      fields: record.record,
    })) as unknown as Options['on_record'],
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      skipped.push({ seq: ++seq, error, raw });
      return undefined;
    },
  });
  async function* text() {
    if (head) yield head;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  }
  const records = pipeline(text(), parser, () => undefined) as AsyncIterable<{
    seq: number;
    fields: string[];
  }>;

  let columns = options.header ? undefined : options.columns;
  const offset = options.header ? 1 : 0;
  const ended = (fields: string[] | undefined) =>
    options.end_marker !== undefined && (fields?.[0] ?? '').trim().startsWith(options.end_marker);
  try {
    if (columns) yield { kind: 'header', columns, delimiter };
    for await (const record of records) {
      while (skipped.length > 0 && skipped[0]!.seq < record.seq) {
        const bad = skipped.shift()!;
        if (!columns)
          throw new AppError(
            'validation_failed',
            `The header row cannot be read: ${bad.error?.message ?? 'broken'}`,
          );
        if (ended(bad.error?.['record'] as string[] | undefined)) return;
        if (!blank(bad.error?.['record'] as string[] | undefined)) yield brokenRow(bad, columns, offset);
      }
      if (!columns) {
        columns = headerColumns(record.fields, options.columns);
        yield { kind: 'header', columns, delimiter };
        continue;
      }
      if (ended(record.fields)) return;
      if (blank(record.fields)) continue;
      const rowNumber = record.seq - offset;
      if (record.fields.length !== columns.length) {
        const reason = `row ${rowNumber} has ${record.fields.length} fields; the header has ${columns.length}`;
        yield { kind: 'broken', rowNumber, row: rowObject(record.fields, columns), reason };
      } else {
        yield { kind: 'row', rowNumber, row: rowObject(record.fields, columns) };
      }
    }
    if (!columns) throw new AppError('validation_failed', 'The file is empty: there is no header row');
    for (const bad of skipped) {
      if (ended(bad.error?.['record'] as string[] | undefined)) return;
      if (!blank(bad.error?.['record'] as string[] | undefined)) yield brokenRow(bad, columns, offset);
    }
  } finally {
    parser.destroy();
    input.destroy();
  }
}

/** A record whose every field is empty (`,,,` or `""`) is a blank line, not data. */
function blank(fields: string[] | undefined): boolean {
  return fields !== undefined && fields.every((f) => f.trim() === '');
}

function brokenRow(
  bad: { seq: number; error: CsvError | undefined; raw: string | undefined },
  columns: string[],
  offset: number,
): CsvItem {
  const rowNumber = bad.seq - offset;
  const fields = bad.error?.['record'] as string[] | undefined;
  const row = fields ? rowObject(fields, columns) : {};
  if (bad.raw !== undefined) row['_raw'] = bad.raw.length > 10_000 ? `${bad.raw.slice(0, 10_000)}…` : bad.raw;
  const reason =
    fields && bad.error?.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH'
      ? `row ${rowNumber} has ${fields.length} fields; the header has ${columns.length}`
      : `row ${rowNumber} cannot be read as CSV: ${bad.error?.message ?? 'broken record'}`;
  return { kind: 'broken', rowNumber, row, reason };
}

/** column -> text; fields beyond the header are kept as `_extra_1`, `_extra_2`... */
function rowObject(fields: string[], columns: string[]): Row {
  const row: Row = {};
  fields.forEach((value, i) => {
    row[columns[i] ?? `_extra_${i - columns.length + 1}`] = value;
  });
  return row;
}

function headerColumns(fields: string[], rename: string[] | undefined): string[] {
  if (rename && rename.length !== fields.length) {
    throw new AppError(
      'validation_failed',
      `csv.columns names ${rename.length} columns, but the header row has ${fields.length}: ${fields.join(', ')}`,
    );
  }
  const columns = rename ?? fields.map((name, i) => name.trim() || `column_${i + 1}`);
  const twice = columns.find((name, i) => columns.indexOf(name) !== i);
  if (twice !== undefined) {
    throw new AppError(
      'validation_failed',
      `The header has the column "${twice}" twice; name the columns in the mapping (csv.columns) to tell them apart`,
    );
  }
  return columns;
}

function chooseDelimiter(configured: string, line: string, quote: string): string {
  if (configured === 'tab') return '\t';
  if (configured !== 'auto') return configured;
  return detectDelimiter(line, quote);
}

/** The most frequent of , ; tab | outside quotes in the header line; a comma when none occurs. */
export function detectDelimiter(line: string, quote = '"'): string {
  const counts = new Map(DETECTABLE.map((d) => [d, 0]));
  let quoted = false;
  for (const char of line) {
    if (char === quote) quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > counts.get(best)!) best = delimiter;
  return best;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function headerLine(text: string, skip: number): string {
  return text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/)[skip] ?? '';
}
