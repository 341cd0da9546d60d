// The baseline: the same event rows written with PostgreSQL's COPY into the same (indexed) events table.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { benchEvents, countEvents, freshDatabase, timed, type BenchServer } from './lib.ts';

function csvField(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

function pgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

export async function benchCopy(server: BenchServer, count: number) {
  const target = await freshDatabase(server, 'copy');
  try {
    const events = benchEvents(count);
    const client = await target.pool.connect();
    try {
      const { seconds } = await timed(async () => {
        const stream = client.query(
          copyFrom(
            'copy events (source, source_event_id, type, type_known, occurred_at, payload, contact_keys) from stdin with (format csv)',
          ),
        );
        const lines = function* () {
          for (const e of events) {
            const email = ((e['data'] as { contact?: { email?: string } }).contact?.email ?? '') as string;
            yield `${csvField(e['source'] as string)},${csvField(e['id'] as string)},${csvField(e['type'] as string)},true,${e['time']},${csvField(JSON.stringify(e))},${csvField(pgArray([`email:${email}`]))}\n`;
          }
        };
        await pipeline(Readable.from(lines()), stream);
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
