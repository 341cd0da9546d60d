// Peak memory of a large CSV import, measured in a child process of its own (maxRSS covers the whole run).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, type BenchServer } from './lib.ts';
import { BENCH_MAPPING, writeBenchCsv } from './ingest-csv.ts';

export async function benchCsvMemory(server: BenchServer, rows: number) {
  const target = await freshDatabase(server, 'csvmem');
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-mem-'));
  try {
    const file = path.join(dir, 'big.csv');
    await writeBenchCsv(file, rows);
    const child = fileURLToPath(new URL('./csv-memory-child.ts', import.meta.url));
    // No heap flag: the figure is what `funnelgate import csv` takes as it ships (the import collects its own
    // garbage once the heap passes a mark; see import-csv.ts).
    const output = execFileSync(process.execPath, [child, target.url, file, BENCH_MAPPING], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as {
      rows: number;
      accepted: number;
      seconds: number;
      maxRssKb: number;
    };
    if (result.accepted !== rows) throw new Error(`the import accepted ${result.accepted} of ${rows}`);
    return { rows, seconds: result.seconds, peakMb: result.maxRssKb / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await target.drop();
  }
}
