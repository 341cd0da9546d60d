// CSV import: a generated file of email engagements, streamed through a mapping into the event store.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importCsv, readMappingFile } from '../src/ingest/csv/import-csv.ts';
import { countEvents, freshDatabase, timed, type BenchServer } from './lib.ts';

export const BENCH_MAPPING = fileURLToPath(new URL('./email-activity.mapping.yaml', import.meta.url));

/** Writes `rows` email engagements on `rows / 10` contacts at `rows / 80` companies, without holding them in memory. */
export async function writeBenchCsv(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const contacts = Math.max(10, Math.floor(rows / 10));
  const start = Date.UTC(2026, 0, 1);
  out.write('event_id,occurred_at,email,campaign\n');
  for (let i = 0; i < rows; i++) {
    const c = (i * 7919) % contacts;
    const line = `csv-${i},${new Date(start + i * 30_000).toISOString()},person${c}@company${c % Math.max(5, Math.floor(contacts / 8))}.com,"spring, ${i % 12}"\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
}

export async function benchCsv(server: BenchServer, count: number) {
  const target = await freshDatabase(server, 'csv');
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-csv-'));
  try {
    const file = path.join(dir, 'activity.csv');
    await writeBenchCsv(file, count);
    const mapping = await readMappingFile(BENCH_MAPPING);
    const { value, seconds } = await timed(() => importCsv({ db: target.db, file, mapping }));
    if (value.accepted !== count) throw new Error(`CSV import accepted ${value.accepted} of ${count}`);
    if ((await countEvents(target.db)) !== count) throw new Error('CSV import stored a different count');
    return { events: count, seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await target.drop();
  }
}
