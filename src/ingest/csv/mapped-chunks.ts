// A CSV input as chunks of CloudEvents ready for ingestion: read, parsed and mapped, cut at row boundaries (a
// row's event and its outcome events stay together).
//
// Tried and dropped: mapping in a worker thread. It took parsing off the thread that writes to the database,
// but the second V8 heap cost about 45 MB of resident memory (a 200,000-row import peaked at 338-347 MB against
// 295 MB) for about 5 % more rows per second.
import type { Readable } from 'node:stream';
import type { CloudEvent } from '../catalogue.ts';
import { mapRow, type LoadedMapping, type Row, type RowError } from './mapping.ts';
import { readCsv, type CsvItem, type ReadProgress } from './read-csv.ts';

export interface Failure {
  rowNumber: number;
  row: Row;
  reason: string;
  errors: RowError[];
}

export interface MappedChunk {
  kind: 'chunk';
  events: CloudEvent[];
  rowNumbers: number[];
  failures: Failure[];
  /** Rows read so far, events they became and rows that did not map (totals, not this chunk's). */
  rows: number;
  mappedEvents: number;
  rowsFailed: number;
  /** Bytes of the input read so far. */
  bytes: number;
}

export type MappedItem = { kind: 'header'; columns: string[]; delimiter: string } | MappedChunk;

export const UNREADABLE = '(row)';

function mapItem(
  loaded: LoadedMapping,
  item: Exclude<CsvItem, { kind: 'header' }>,
): { events: CloudEvent[] } | { failure: Failure } {
  if (item.kind === 'broken') {
    return {
      failure: {
        rowNumber: item.rowNumber,
        row: item.row,
        reason: item.reason,
        errors: [{ field: UNREADABLE, message: item.reason }],
      },
    };
  }
  const result = mapRow(loaded.mapping, item.row, item.rowNumber);
  if ('error' in result) return { failure: { rowNumber: item.rowNumber, row: item.row, ...result.error } };
  return { events: [result.event, ...result.outcomes] };
}

/** The header, then chunks of at most `chunkEvents` events (or failures). */
export async function* mappedChunks(
  input: Readable,
  loaded: LoadedMapping,
  chunkEvents: number,
): AsyncGenerator<MappedItem> {
  const read: ReadProgress = { bytes: 0 };
  const totals = { rows: 0, mappedEvents: 0, rowsFailed: 0 };
  let events: CloudEvent[] = [];
  let rowNumbers: number[] = [];
  let failures: Failure[] = [];
  const cut = (): MappedChunk => {
    const chunk: MappedChunk = { kind: 'chunk', events, rowNumbers, failures, ...totals, bytes: read.bytes };
    events = [];
    rowNumbers = [];
    failures = [];
    return chunk;
  };
  for await (const item of readCsv(input, loaded.mapping.csv, read)) {
    if (item.kind === 'header') {
      yield item;
      continue;
    }
    totals.rows++;
    const outcome = mapItem(loaded, item);
    if ('failure' in outcome) {
      totals.rowsFailed++;
      failures.push(outcome.failure);
      if (failures.length >= chunkEvents) yield cut();
      continue;
    }
    if (events.length + outcome.events.length > chunkEvents && events.length > 0) yield cut();
    for (const event of outcome.events) {
      events.push(event);
      rowNumbers.push(item.rowNumber);
    }
    totals.mappedEvents += outcome.events.length;
  }
  if (events.length > 0 || failures.length > 0) yield cut();
}
