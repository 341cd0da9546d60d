// `npm run bench [-- --events 50000 --runs 3 --only copy,api,csv,nats,memory]`
// Ingest throughput of each bulk path next to a raw PostgreSQL COPY of the same rows into the same table, in
// the same run, on the same server. Prints a table; the latest figures live in bench/RESULTS.md.
import { parseArgs } from 'node:util';
import { machine, benchServer } from './lib.ts';
import { benchCopy } from './ingest-copy.ts';
import { benchApi } from './ingest-api.ts';
import { DEFAULT_NATS_BATCH_SIZE } from '../src/ingest/nats-consumer.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    only: { type: 'string', default: 'copy,api,csv,nats,memory' },
    'memory-rows': { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
  },
});
const count = Number(values.events);
const only = new Set(values.only.split(','));

const server = await benchServer();
const RUNS = Number(values.runs);
console.log(
  `Funnelgate ingest benchmark — ${count} events, median of ${RUNS} runs each — ${machine()} — ${server.kind}`,
);

/** Runs a measurement RUNS times; the run with the median time stands for it (all times are printed too). */
async function median(label: string, run: () => Promise<{ events: number; seconds: number }>) {
  const results: { events: number; seconds: number }[] = [];
  for (let i = 0; i < RUNS; i++) results.push(await run());
  const sorted = [...results].sort((a, b) => a.seconds - b.seconds);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  console.log(`  ${label}: ${results.map((r) => `${Math.round(r.events / r.seconds)}/s`).join(', ')}`);
  return { ...mid, perSecond: mid.events / mid.seconds };
}

const rows: { path: string; events: number; seconds: number; perSecond: number }[] = [];
try {
  let copyRate: number | undefined;
  let bareRate: number | undefined;
  if (only.has('copy')) {
    const r = await median('COPY', () => benchCopy(server, count));
    copyRate = r.perSecond;
    rows.push({ path: 'raw COPY of the same rows into events (baseline)', ...r });
    const bare = await median('bare COPY', () => benchCopy(server, count, true));
    bareRate = bare.perSecond;
    rows.push({ path: 'raw COPY without attribution columns (the baseline until 2026-11-24)', ...bare });
  }
  if (only.has('api')) {
    // Batches of 1,000 (a typical client) and of 2,000 (a bulk loader: one of the server's transactions each).
    for (const batchSize of [1000, 2000]) {
      const path = `HTTP batch API (POST /v1/events, ${batchSize}/batch, 2 clients)`;
      rows.push({ path, ...(await median(path, () => benchApi(server, count, batchSize))) });
    }
  }
  if (only.has('csv')) {
    const { benchCsv } = await import('./ingest-csv.ts');
    const path = 'CSV import (funnelgate import csv)';
    rows.push({ path, ...(await median(path, () => benchCsv(server, count))) });
  }
  if (only.has('nats')) {
    const { benchNats } = await import('./ingest-nats.ts');
    const path = `NATS JetStream consumer (1 consumer, ${DEFAULT_NATS_BATCH_SIZE}/fetch)`;
    rows.push({ path, ...(await median(path, () => benchNats(server, count))) });
  }
  const ratio = (rate: number, base: number | undefined) =>
    base ? `${((100 * rate) / base).toFixed(0)} %` : 'n/a';
  console.log('');
  console.log('| path | events | seconds | events/s | vs raw COPY | vs bare COPY |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const baseline = r.path.startsWith('raw COPY');
    console.log(
      `| ${r.path} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond)} | ${baseline ? '—' : ratio(r.perSecond, copyRate)} | ${baseline ? '—' : ratio(r.perSecond, bareRate)} |`,
    );
  }
  if (only.has('memory')) {
    const { benchCsvMemory } = await import('./csv-memory.ts');
    const m = await benchCsvMemory(server, Number(values['memory-rows']));
    console.log('');
    console.log(
      `CSV import of ${m.rows} rows: peak RSS ${m.peakMb.toFixed(0)} MB, ${m.seconds.toFixed(1)} s (${Math.round(m.rows / m.seconds)} rows/s)`,
    );
  }
} finally {
  await server.stop();
}
