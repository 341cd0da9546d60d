// The baseline: the same event rows, as ingestion stores them, written with PostgreSQL's COPY into the same
// (indexed) events table. "The same rows" includes what ingestion works out and stores with each event — its
// contact and account, its batch, the identity keys it carries — because the table's indexes on those columns
// are paid per row; the baseline just does not have to work them out. (Until 2026-11-24 the baseline left
// them empty, which skipped two of the indexes every ingested event pays; see bench/RESULTS.md.)
import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import {
  accountIdentity,
  contactIdentity,
  type AccountRef,
  type ContactRef,
} from '../src/ingest/identity-keys.ts';
import { benchEvents, countEvents, freshDatabase, timed, type BenchServer } from './lib.ts';

function csvField(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

function pgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** A stable id per identity key, standing in for the contact or account ingestion resolves it to. */
function entityId(key: string): string {
  const hex = createHash('md5').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * `bare`: the baseline as it was until 2026-11-24, for comparison with older figures: the rows without their
 * contact, account, batch and account keys (two fewer index entries per row).
 */
export async function benchCopy(server: BenchServer, count: number, bare = false) {
  const target = await freshDatabase(server, 'copy');
  try {
    const events = benchEvents(count);
    const batchId = randomUUID();
    const lines = events.map((e) => {
      const source = e['source'] as string;
      const data = e['data'] as { contact?: ContactRef; account?: AccountRef };
      const contact = contactIdentity(data.contact, source);
      const account = accountIdentity(data.account, source, contact.email);
      const contactId = contact.email ? entityId(`email:${contact.email}`) : '';
      const accountId = account.domain ? entityId(`domain:${account.domain}`) : '';
      if (bare)
        return `${csvField(source)},${csvField(e['id'] as string)},${csvField(e['type'] as string)},true,${e['time']},${csvField(JSON.stringify(e))},,${csvField(pgArray(contact.keys))},{},,\n`;
      return `${csvField(source)},${csvField(e['id'] as string)},${csvField(e['type'] as string)},true,${e['time']},${csvField(JSON.stringify(e))},${batchId},${csvField(pgArray(contact.keys))},${csvField(pgArray(account.keys))},${contactId},${accountId}\n`;
    });
    const client = await target.pool.connect();
    try {
      const { seconds } = await timed(async () => {
        const stream = client.query(
          copyFrom(
            'copy events (source, source_event_id, type, type_known, occurred_at, payload, batch_id, contact_keys, account_keys, contact_id, account_id) from stdin with (format csv)',
          ),
        );
        await pipeline(Readable.from(lines), stream);
      });
      const stored = await countEvents(target.db);
      if (stored !== count) throw new Error(`COPY stored ${stored} of ${count}`);
      return { events: count, seconds };
    } finally {
      client.release();
    }
  } finally {
    await target.drop();
  }
}
