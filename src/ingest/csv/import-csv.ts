// Imports a CSV file through a mapping. Every row becomes CloudEvents that take the path of every other channel
// (ingestCloudEvents: validation, identity resolution, idempotency on source + id, lineage), all in one ingest
// batch. Rows that do not map are quarantined with their original text, row number and mapping version, and can
// be replayed through a corrected mapping. Rows are read only as fast as the database takes them, so memory
// stays bounded for files of any length.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import type { CloudEvent } from '../catalogue.ts';
import { ingestCloudEvents, openBatch, type IngestResult } from '../ingest-events.ts';
import { quarantineRecord } from '../quarantine.ts';
import { replayQuarantined } from '../replay.ts';
import { ensureSource } from '../sources.ts';
import { checkHeader, mapRow, parseMapping, type LoadedMapping, type Row, type RowError } from './mapping.ts';
import { UNREADABLE, mappedChunks, type Failure, type MappedChunk } from './mapped-chunks.ts';

/**
 * Events per call to ingestCloudEvents, which commits up to 2,000 events per transaction; calls of at most that
 * size, cut at row boundaries, keep a row's event and its outcome events in one transaction. (Against 1,000,
 * 2,000 gave about a quarter more rows per second: a transaction's fixed costs and its identity keys, which
 * repeat within a chunk, are shared by twice the events.)
 */
const CHUNK_EVENTS = 2000;
/**
 * Chunks being stored at once. The next chunk is read and mapped while one is written, and two writers keep the
 * database busy while this process prepares the next; reading waits while both are busy (backpressure), so
 * memory stays bounded by a few chunks whatever the file's length.
 */
const IN_FLIGHT = 2;
/**
 * Garbage the import lets pile up before asking V8 for a full collection. What the import holds is a few chunks,
 * but V8 grows its heap lazily, to several hundred MB on a large machine, before collecting the chunks already
 * written. With the young generation held at its size (see memoryKeeper), collecting whenever the heap has grown
 * this much keeps a file of any length well under 300 MB of resident memory without a heap flag (measured on
 * 200,000 rows: 24 MB -> 211 MB at 9,500 rows/s, 48 MB -> 235 MB at 10,600 rows/s, 64 MB -> 256 MB).
 */
const GARBAGE_ALLOWANCE_BYTES = 48 * 1024 * 1024;

let fullCollection: (() => void) | null | undefined;
let importsRunning = 0;

/** V8's full collection, made available once at run time (it is only exposed by a flag otherwise). */
function collectGarbage(): void {
  if (fullCollection === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      fullCollection = runInNewContext('gc') as () => void;
      setFlagsFromString('--no-expose-gc');
    } catch {
      fullCollection = null;
    }
  }
  fullCollection?.();
}

/**
 * Keeps the import's memory flat: the young generation may not grow during the import (V8 otherwise doubles it
 * up to 128 MB under an import's allocation rate: most of the resident memory, for garbage), and a full
 * collection runs whenever the heap has grown by the allowance since the last one (or since the import began).
 * Returns the check to call after each chunk, and the undo for when the import ends.
 */
function memoryKeeper(): { check: () => void; release: () => void } {
  if (importsRunning++ === 0) setFlagsFromString('--semi-space-growth-factor=1');
  let floor = process.memoryUsage().heapUsed;
  return {
    check() {
      if (process.memoryUsage().heapUsed - floor < GARBAGE_ALLOWANCE_BYTES) return;
      collectGarbage();
      floor = process.memoryUsage().heapUsed;
    },
    release() {
      // Back to V8's default growth factor when the last import in this process ends.
      if (--importsRunning === 0) setFlagsFromString('--semi-space-growth-factor=2');
    },
  };
}

export interface CsvInput {
  file?: string;
  stream?: Readable;
}

export interface ImportProgress {
  rows: number;
  accepted: number;
  duplicate: number;
  quarantined: number;
  /** Bytes of the input read so far (the file size is the total). */
  bytes: number;
  seconds: number;
}

export interface ImportSummary {
  batch_id: string;
  mapping_version: string;
  rows: number;
  /** Events the rows became (a row with outcome columns gives more than one). */
  events: number;
  accepted: number;
  duplicate: number;
  /** Quarantined records: rows that did not map, plus events that ingestion refused. */
  quarantined: number;
  rows_failed: number;
  missing_optional_columns: string[];
  seconds: number;
  rows_per_second: number;
}

export async function readMappingFile(file: string): Promise<LoadedMapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('not_found', `Cannot read the mapping file ${file}: ${(error as Error).message}`);
  }
  return parseMapping(text, `The mapping file ${file}`);
}

async function openInput(input: CsvInput): Promise<Readable> {
  if (input.stream) return input.stream;
  if (!input.file) throw new AppError('bad_request', 'Give a CSV file or stream to import');
  const info = await stat(input.file).catch(() => undefined);
  if (!info?.isFile()) throw new AppError('not_found', `No CSV file at ${input.file}`);
  return createReadStream(input.file, { highWaterMark: 256 * 1024 });
}

function headerProblems(loaded: LoadedMapping, columns: string[]): string[] {
  const { missingRequired, missingOptional } = checkHeader(loaded.mapping, columns);
  if (missingRequired.length > 0) {
    throw new AppError(
      'validation_failed',
      `The file lacks columns the mapping ${loaded.version} needs: ${missingRequired.join(', ')}. ` +
        `Its columns are: ${columns.join(', ')}`,
      { missing: missingRequired, columns },
    );
  }
  return missingOptional;
}

export async function importCsv(
  options: CsvInput & {
    db: Db;
    mapping: LoadedMapping;
    createdBy?: string | null;
    description?: string;
    onProgress?: (progress: ImportProgress) => void;
  },
): Promise<ImportSummary> {
  const { db, mapping: loaded } = options;
  const { mapping, version } = loaded;
  const started = performance.now();
  const input = await openInput(options);
  const totals = { rows: 0, events: 0, accepted: 0, duplicate: 0, quarantined: 0, rowsFailed: 0 };
  let bytes = 0;
  let batchId: string | undefined;
  let missingOptional: string[] = [];

  const keepMemory = memoryKeeper();
  const store = async (chunk: MappedChunk) => {
    if (!batchId) return;
    if (chunk.events.length > 0) {
      const report = await ingestCloudEvents(db, chunk.events, {
        channel: 'csv',
        batchId,
        mappingVersion: version,
        recordNumbers: chunk.rowNumbers,
      });
      totals.accepted += report.accepted;
      totals.duplicate += report.duplicate;
      totals.quarantined += report.quarantined;
    }
    if (chunk.failures.length > 0)
      await quarantineFailures(db, batchId, mapping.source, version, chunk.failures);
    totals.quarantined += chunk.failures.length;
    keepMemory.check();
    options.onProgress?.({
      ...pick(totals),
      bytes,
      seconds: (performance.now() - started) / 1000,
    });
  };
  const inFlight = new Set<Promise<void>>();
  let failed: unknown;
  const hand = async (chunk: MappedChunk) => {
    const pending: Promise<void> = store(chunk)
      .catch((error: unknown) => {
        failed ??= error;
      })
      .finally(() => inFlight.delete(pending));
    inFlight.add(pending);
    while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (failed) throw failed;
  };
  const chunks = mappedChunks(input, loaded, CHUNK_EVENTS);
  try {
    for await (const item of chunks) {
      if (item.kind === 'header') {
        missingOptional = headerProblems(loaded, item.columns);
        await ensureActiveSource(db, loaded);
        batchId = await openBatch(
          db,
          {
            channel: 'csv',
            createdBy: options.createdBy ?? null,
            mappingVersion: version,
            description: options.description ?? describe(options),
          },
          mapping.source,
        );
        continue;
      }
      totals.rows = item.rows;
      totals.events = item.mappedEvents;
      totals.rowsFailed = item.rowsFailed;
      bytes = item.bytes;
      await hand(item);
    }
  } finally {
    // Whatever stopped the reading, the chunks already handed over are finished before returning.
    await Promise.allSettled(inFlight);
    keepMemory.release();
  }
  if (failed) throw failed;
  const seconds = (performance.now() - started) / 1000;
  return {
    batch_id: batchId!,
    mapping_version: version,
    rows: totals.rows,
    events: totals.events,
    accepted: totals.accepted,
    duplicate: totals.duplicate,
    quarantined: totals.quarantined,
    rows_failed: totals.rowsFailed,
    missing_optional_columns: missingOptional,
    seconds: round(seconds),
    rows_per_second: seconds > 0 ? Math.round(totals.rows / seconds) : totals.rows,
  };
}

/** The mapping's source, registered with the mapping's time zone if it is new. */
async function ensureActiveSource(db: Db, { mapping }: LoadedMapping): Promise<void> {
  const source = await ensureSource(db, {
    name: mapping.source,
    timezone: mapping.timezone,
    description: `Registered by the CSV import with mapping ${mapping.name}`,
  });
  if (!source.active) {
    throw new AppError(
      'conflict',
      `Source "${mapping.source}" is deactivated; reactivate it before importing into it`,
    );
  }
}

export interface DryRunSummary {
  mapping_version: string;
  delimiter: string;
  columns: string[];
  rows: number;
  rows_mapped: number;
  rows_failed: number;
  events: number;
  missing_optional_columns: string[];
  /** The first rows that would be quarantined, with why. */
  first_errors: { row: number; reason: string; errors: RowError[] }[];
  /** The events of the first row that maps, to see what a row becomes. */
  sample: CloudEvent[];
  seconds: number;
  rows_per_second: number;
}

/** Reads and maps the whole file without a database: what an import would do, and the first problems. */
export async function dryRunCsv(
  options: CsvInput & {
    mapping: LoadedMapping;
    maxErrors?: number;
    onProgress?: (progress: ImportProgress) => void;
  },
): Promise<DryRunSummary> {
  const loaded = options.mapping;
  const started = performance.now();
  const input = await openInput(options);
  const summary: DryRunSummary = {
    mapping_version: loaded.version,
    delimiter: '',
    columns: [],
    rows: 0,
    rows_mapped: 0,
    rows_failed: 0,
    events: 0,
    missing_optional_columns: [],
    first_errors: [],
    sample: [],
    seconds: 0,
    rows_per_second: 0,
  };
  for await (const item of mappedChunks(input, loaded, CHUNK_EVENTS)) {
    if (item.kind === 'header') {
      summary.delimiter = item.delimiter;
      summary.columns = item.columns;
      summary.missing_optional_columns = headerProblems(loaded, item.columns);
      continue;
    }
    summary.rows = item.rows;
    summary.rows_failed = item.rowsFailed;
    summary.rows_mapped = item.rows - item.rowsFailed;
    summary.events = item.mappedEvents;
    for (const { rowNumber, reason, errors } of item.failures) {
      if (summary.first_errors.length >= (options.maxErrors ?? 10)) break;
      summary.first_errors.push({ row: rowNumber, reason, errors });
    }
    if (summary.sample.length === 0 && item.events.length > 0) {
      // A row's events are never split between chunks.
      const first = item.rowNumbers[0];
      summary.sample = item.events.filter((_, i) => item.rowNumbers[i] === first);
    }
    options.onProgress?.({
      rows: summary.rows,
      accepted: 0,
      duplicate: 0,
      quarantined: 0,
      bytes: item.bytes,
      seconds: (performance.now() - started) / 1000,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  summary.seconds = round(seconds);
  summary.rows_per_second = seconds > 0 ? Math.round(summary.rows / seconds) : summary.rows;
  return summary;
}

/** Rows that did not map, with their original text, counted on the batch in the same transaction. */
async function quarantineFailures(
  db: Db,
  batchId: string,
  source: string,
  version: string,
  failures: Failure[],
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const failure of failures) {
      await quarantineRecord(trx, {
        batchId,
        channel: 'csv',
        source,
        sourceEventId: null,
        recordNumber: failure.rowNumber,
        code: 'mapping_failed',
        reason: failure.reason,
        errors: failure.errors,
        raw: failure.row,
        mappingVersion: version,
      });
    }
    await trx
      .updateTable('ingest_batches')
      .set({ quarantined: sql`quarantined + ${failures.length}`, finished_at: new Date() })
      .where('id', '=', batchId)
      .execute();
  });
}

// ---- replay through a corrected mapping ----

export interface CsvReplayResult {
  quarantine_id: string;
  row_number: number | null;
  status: 'accepted' | 'duplicate' | 'quarantined';
  event_id?: string;
  reason?: string;
  /** What happened to the row's outcome events, when it has any. */
  outcomes?: IngestResult['status'][];
}

/**
 * Re-maps open quarantined CSV rows (of a batch, or by id) with a corrected mapping and replays them through
 * the normal path. A row that still does not map stays open with the new reason. Records that hold a CloudEvent
 * (refused by ingestion after mapping) are replayed as they are.
 */
export async function replayCsvQuarantine(options: {
  db: Db;
  mapping: LoadedMapping;
  batchId?: string;
  ids?: string[];
  by: string;
}): Promise<CsvReplayResult[]> {
  const { db, mapping: loaded } = options;
  if (!options.batchId && !options.ids?.length)
    throw new AppError('bad_request', 'Name the quarantined records: ids or a batch id');
  let query = db
    .selectFrom('quarantine')
    .select(['id', 'channel', 'status', 'record_number', 'raw', 'errors'])
    .orderBy('record_number')
    .orderBy('received_at');
  if (options.batchId)
    query = query
      .where('batch_id', '=', options.batchId)
      .where('status', '=', 'open')
      .where('channel', '=', 'csv');
  if (options.ids?.length) query = query.where('id', 'in', options.ids);
  const records = await query.execute();
  for (const id of options.ids ?? []) {
    const record = records.find((r) => r.id === id);
    if (!record) throw new AppError('not_found', `No quarantined record with id ${id}`);
    if (record.channel !== 'csv')
      throw new AppError(
        'bad_request',
        `Quarantined record ${id} did not come from a CSV import; replay it without a mapping`,
      );
    if (record.status !== 'open')
      throw new AppError('conflict', `Quarantined record ${id} is already ${record.status}`);
  }
  const results: CsvReplayResult[] = [];
  for (const record of records) results.push(await replayOne(db, loaded, record, options.by));
  return results;
}

async function replayOne(
  db: Db,
  loaded: LoadedMapping,
  record: { id: string; record_number: number | null; raw: unknown; errors: unknown },
  by: string,
): Promise<CsvReplayResult> {
  const base = { quarantine_id: record.id, row_number: record.record_number };
  if (unreadable(record.errors)) {
    // Its fields may sit under the wrong columns; no mapping can tell. The file has to be fixed.
    const reason =
      'the row could not be read as CSV; fix it in the file and import the file again, or discard it';
    return { ...base, status: 'quarantined', reason };
  }
  if (isCloudEvent(record.raw)) {
    const { result } = await replayQuarantined(db, record.id, { by });
    return { ...base, ...fromIngest(result) };
  }
  const mapped = mapRow(loaded.mapping, record.raw as Row, record.record_number ?? 0);
  if ('error' in mapped) {
    const reason = `${mapped.error.reason} (replay with ${loaded.version})`;
    await db
      .updateTable('quarantine')
      .set({ reason, errors: JSON.stringify(mapped.error.errors), mapping_version: loaded.version })
      .where('id', '=', record.id)
      .execute();
    return { ...base, status: 'quarantined', reason };
  }
  const { result } = await replayQuarantined(db, record.id, { by, transform: () => mapped.event });
  if (result.status === 'quarantined' || mapped.outcomes.length === 0)
    return { ...base, ...fromIngest(result) };
  const outcomes = await ingestCloudEvents(db, mapped.outcomes, {
    channel: 'replay',
    mappingVersion: loaded.version,
    description: `outcomes of replayed quarantine ${record.id}`,
  });
  return { ...base, ...fromIngest(result), outcomes: outcomes.results.map((r) => r.status) };
}

function fromIngest(result: IngestResult): Omit<CsvReplayResult, 'quarantine_id' | 'row_number'> {
  return {
    status: result.status,
    ...(result.event_id ? { event_id: result.event_id } : {}),
    ...(result.reason ? { reason: result.reason } : {}),
  };
}

/** Rows the CSV parser could not read (see mapped-chunks.ts) carry the marker field "(row)". */
function unreadable(errors: unknown): boolean {
  return Array.isArray(errors) && errors.some((e) => (e as { field?: unknown })?.field === UNREADABLE);
}

export function isCloudEvent(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'specversion' in raw;
}

function pick(t: { rows: number; accepted: number; duplicate: number; quarantined: number }) {
  return { rows: t.rows, accepted: t.accepted, duplicate: t.duplicate, quarantined: t.quarantined };
}

function describe(input: CsvInput): string {
  return input.file ? `CSV import of ${input.file}` : 'CSV import';
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}
