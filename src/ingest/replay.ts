// Fix and replay: a quarantined record goes through the normal path again, as it was or as corrected.
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { ingestCloudEvents, type IngestResult } from './ingest-events.ts';
import { getQuarantined, markQuarantine } from './quarantine.ts';

export interface ReplayOutcome {
  quarantine_id: string;
  result: IngestResult;
}

/**
 * Replays one quarantined record. `corrected` replaces the stored payload (a fixed CloudEvent); `transform`
 * turns a stored raw record into a CloudEvent (e.g. a CSV row through a corrected mapping). The record is
 * marked replayed only when the event is now stored (accepted, or already there); otherwise it stays open with
 * the new reason.
 */
export async function replayQuarantined(
  db: Db,
  id: string,
  options: { by: string; corrected?: unknown; transform?: (raw: unknown) => unknown },
): Promise<ReplayOutcome> {
  const record = await getQuarantined(db, id);
  if (record.status !== 'open')
    throw new AppError('conflict', `Quarantined record ${id} is already ${record.status}`);
  let event: unknown = options.corrected ?? record.raw;
  if (!options.corrected && options.transform) event = options.transform(record.raw);
  const report = await ingestCloudEvents(db, [event], {
    channel: 'replay',
    createdBy: null,
    onReject: 'report',
    description: `replay of quarantine ${id}`,
  });
  const result = report.results[0]!;
  if (result.status === 'quarantined') {
    await db
      .updateTable('quarantine')
      .set({
        reason: `${result.reason} (replay attempted ${new Date().toISOString()})`,
        reason_code: result.reason_code ?? record.reason_code,
      })
      .where('id', '=', id)
      .execute();
  } else {
    await markQuarantine(db, id, 'replayed', options.by, result.event_id ?? null);
  }
  return { quarantine_id: id, result };
}

export async function discardQuarantined(db: Db, id: string, by: string, reason: string): Promise<void> {
  const record = await getQuarantined(db, id);
  if (record.status !== 'open')
    throw new AppError('conflict', `Quarantined record ${id} is already ${record.status}`);
  await db
    .updateTable('quarantine')
    .set({ reason: `${record.reason} | discarded: ${reason}` })
    .where('id', '=', id)
    .execute();
  await markQuarantine(db, id, 'discarded', by, null);
}
