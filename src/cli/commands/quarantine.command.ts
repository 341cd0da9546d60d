import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import type { QuarantinedRecord } from '../../db/schema.ts';
import { AppError } from '../../errors.ts';
import {
  isCloudEvent,
  readMappingFile,
  replayCsvQuarantine,
  type CsvReplayResult,
} from '../../ingest/csv/import-csv.ts';
import { getQuarantined, listQuarantine, QUARANTINE_REASONS } from '../../ingest/quarantine.ts';
import { discardQuarantined, replayQuarantined } from '../../ingest/replay.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';

const uuid = z.uuid();

function checkId(id: string, what = 'a quarantined record id'): string {
  if (!uuid.safeParse(id).success) throw new AppError('validation_failed', `"${id}" is not ${what} (a UUID)`);
  return id;
}

/** Who resolved a record, as kept on it: the operating-system user running the CLI. */
function cliUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export function quarantineCommand(): Command {
  const command = new Command('quarantine').description(
    'Records that could not be ingested, with the reason: list, inspect, replay (fixed) or discard them',
  );

  command
    .command('list')
    .description('Quarantined records, oldest first (open ones unless --status says otherwise)')
    .addOption(new Option('--reason <code>', 'only this reason').choices(QUARANTINE_REASONS))
    .option('--source <name>', 'only this source')
    .option('--batch <id>', 'only this ingest batch (e.g. one CSV import)')
    .addOption(
      new Option('--status <status>', 'which records')
        .choices(['open', 'replayed', 'discarded', 'all'])
        .default('open'),
    )
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 100)
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        reason?: string;
        source?: string;
        batch?: string;
        status: string;
        limit: number;
        json?: boolean;
      }) => {
        if (options.batch) checkId(options.batch, 'a batch id');
        if (!Number.isInteger(options.limit) || options.limit < 1)
          throw new AppError('validation_failed', '--limit must be a whole number of at least 1');
        await withDatabase(async ({ database }) => {
          const page = await listQuarantine(database.db, {
            limit: options.limit,
            ...(options.status !== 'all'
              ? { status: options.status as 'open' | 'replayed' | 'discarded' }
              : {}),
            ...(options.reason ? { reasonCode: options.reason } : {}),
            ...(options.source ? { source: options.source } : {}),
            ...(options.batch ? { batchId: options.batch } : {}),
          });
          // Rows quarantined by one transaction share their time: show them in file order.
          const rows = page.sort(
            (a, b) =>
              a.received_at.getTime() - b.received_at.getTime() ||
              (a.record_number ?? 0) - (b.record_number ?? 0),
          );
          printResult(Boolean(options.json), rows, () =>
            table(
              rows.map((r) => ({ ...r, row: r.record_number, reason: truncate(r.reason, 100) })),
              ['id', 'received_at', 'channel', 'source', 'row', 'status', 'reason_code', 'reason'],
            ),
          );
        });
      },
    );

  command
    .command('show')
    .description('One quarantined record: the reason, the errors and the original record')
    .argument('<id>')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const record = await getQuarantined(database.db, checkId(id));
        printResult(Boolean(options.json), record, () => describeRecord(record));
      });
    });

  command
    .command('replay')
    .description(
      'Replay quarantined records through the normal path. CSV rows need --mapping (the corrected mapping); ' +
        'other records are replayed as stored. A record that fails again stays open with the new reason.',
    )
    .argument('[ids...]', 'quarantined record ids')
    .option('--batch <id>', 'every open record of this ingest batch')
    .option('-m, --mapping <file>', 'for CSV rows: the (corrected) mapping file to map them with')
    .option('--json', 'print the result as JSON')
    .action(async (ids: string[], options: { batch?: string; mapping?: string; json?: boolean }) => {
      if (ids.length === 0 && !options.batch)
        throw new AppError('bad_request', 'Name the records to replay: ids, or --batch <id>');
      if (ids.length > 0 && options.batch)
        throw new AppError('bad_request', 'Give either ids or --batch, not both');
      ids.forEach((id) => checkId(id));
      if (options.batch) checkId(options.batch, 'a batch id');
      const mapping = options.mapping ? await readMappingFile(options.mapping) : undefined;
      await withDatabase(async ({ database }) => {
        const by = cliUser();
        const results = mapping
          ? await replayCsvQuarantine({
              db: database.db,
              mapping,
              by,
              ...(options.batch ? { batchId: options.batch } : { ids }),
            })
          : await replayAsStored(
              database.db,
              options.batch ? await openIdsOfBatch(database.db, options.batch) : ids,
              by,
            );
        const counts = { accepted: 0, duplicate: 0, quarantined: 0 };
        for (const r of results) counts[r.status]++;
        printResult(Boolean(options.json), { ...counts, results }, () =>
          [
            table(
              results.map((r) => ({ ...r, reason: truncate(r.reason ?? '', 100) })),
              ['quarantine_id', 'row_number', 'status', 'event_id', 'reason'],
            ),
            `${counts.accepted} accepted, ${counts.duplicate} duplicate (already stored), ${counts.quarantined} still quarantined.`,
          ].join('\n'),
        );
      });
    });

  command
    .command('discard')
    .description('Close a quarantined record without storing it (the record and the reason are kept)')
    .argument('<id>')
    .requiredOption('--reason <text>', 'why it is discarded')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { reason: string; json?: boolean }) => {
      if (options.reason.trim().length < 3)
        throw new AppError('validation_failed', '--reason must say why (at least 3 characters)');
      await withDatabase(async ({ database }) => {
        await discardQuarantined(database.db, checkId(id), cliUser(), options.reason.trim());
        const record = await getQuarantined(database.db, id);
        printResult(Boolean(options.json), record, () => `Discarded quarantined record ${id}.`);
      });
    });
  return command;
}

async function openIdsOfBatch(db: Db, batchId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('quarantine')
    .select('id')
    .where('batch_id', '=', batchId)
    .where('status', '=', 'open')
    .orderBy('record_number')
    .orderBy('received_at')
    .execute();
  return rows.map((r) => r.id);
}

/** Without a mapping a CSV row cannot become an event; it is left alone rather than failing with a new reason. */
async function replayAsStored(db: Db, ids: string[], by: string): Promise<CsvReplayResult[]> {
  const results: CsvReplayResult[] = [];
  for (const id of ids) {
    const record = await getQuarantined(db, id);
    if (record.channel === 'csv' && !isCloudEvent(record.raw)) {
      results.push({
        quarantine_id: id,
        row_number: record.record_number,
        status: 'quarantined',
        reason: 'a CSV row: replay it with --mapping <corrected mapping>',
      });
      continue;
    }
    const { result } = await replayQuarantined(db, id, { by });
    results.push({
      quarantine_id: id,
      row_number: record.record_number,
      status: result.status,
      ...(result.event_id ? { event_id: result.event_id } : {}),
      ...(result.reason ? { reason: result.reason } : {}),
    });
  }
  return results;
}

function describeRecord(r: QuarantinedRecord): string {
  return [
    `id            ${r.id}`,
    `status        ${r.status}${r.resolved_at ? ` (${r.resolved_at.toISOString()} by ${r.resolved_by ?? '?'})` : ''}`,
    `received      ${r.received_at.toISOString()}`,
    `channel       ${r.channel}`,
    `source        ${r.source ?? ''}`,
    `batch         ${r.batch_id ?? ''}`,
    `row           ${r.record_number ?? ''}`,
    `mapping       ${r.mapping_version ?? ''}`,
    `reason        ${r.reason_code}: ${r.reason}`,
    'errors:',
    indent(JSON.stringify(r.errors, null, 2)),
    'original record:',
    indent(JSON.stringify(r.raw, null, 2)),
  ].join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
