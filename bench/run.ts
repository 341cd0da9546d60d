// `npm run bench [-- --events 50000 --runs 3 --only api,csv,nats,memory]`
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
    only: { type: 'string', default: 'api,csv,nats,memory' },
    'memory-rows': { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
  },
});
const count = Number(values.events);
const only = new Set(values.only.split(','));

const server = await benchServer();
const RUNS = Number(values.runs);
console.log(
  `Funnelgate ingest benchmark — ${count} events, ${RUNS} runs of each path, each after a COPY of the same rows — ${machine()} — ${server.kind}`,
);

type Timing = { events: number; seconds: number };
const rate = (t: Timing) => t.events / t.seconds;
const middle = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)]!;

/**
 * Each path runs RUNS times, each run right after a COPY of the same rows (this machine's speed drifts by tens
 * of per cent within minutes, so a baseline measured once at the start would not be "the same run"). The
 * figure is the median of the paired ratios; the medians of both rates are shown too.
 */
async function paired(label: string, run: () => Promise<Timing>) {
  const copies: number[] = [];
  const bares: number[] = [];
  const rates: number[] = [];
  const ratios: number[] = [];
  const bareRatios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const copy = rate(await benchCopy(server, count));
    const bare = rate(await benchCopy(server, count, true));
    const own = rate(await run());
    copies.push(copy);
    bares.push(bare);
    rates.push(own);
    ratios.push(own / copy);
    bareRatios.push(own / bare);
  }
  const round = (values: number[]) => values.map((v) => Math.round(v)).join(', ');
  console.log(`  ${label}: ${round(rates)}/s; COPY ${round(copies)}/s; bare COPY ${round(bares)}/s`);
  return {
    path: label,
    perSecond: middle(rates),
    copy: middle(copies),
    bare: middle(bares),
    ratio: middle(ratios),
    bareRatio: middle(bareRatios),
  };
}

const rows: Awaited<ReturnType<typeof paired>>[] = [];
try {
  if (only.has('api')) {
    // Batches of 1,000 (a typical client) and of 2,000 (a bulk loader: one of the server's transactions each);
    // and four bulk loaders at once, where concurrent transactions meet on the same companies' rows (until
    // 2026-11-25 they deadlocked there, and four clients ran at a fifth of COPY's rate).
    for (const [batchSize, clients] of [
      [1000, 2],
      [2000, 2],
      [2000, 4],
    ] as const) {
      const path = `HTTP batch API (POST /v1/events, ${batchSize}/batch, ${clients} clients)`;
      rows.push(await paired(path, () => benchApi(server, count, batchSize, clients)));
    }
  }
  if (only.has('csv')) {
    const { benchCsv } = await import('./ingest-csv.ts');
    rows.push(await paired('CSV import (funnelgate import csv)', () => benchCsv(server, count)));
  }
  if (only.has('nats')) {
    const { benchNats } = await import('./ingest-nats.ts');
    const path = `NATS JetStream consumer (1 consumer, ${DEFAULT_NATS_BATCH_SIZE}/fetch)`;
    rows.push(await paired(path, () => benchNats(server, count)));
  }
  const percent = (value: number) => `${(100 * value).toFixed(0)} %`;
  if (rows.length > 0) {
    console.log('');
    console.log(
      '| path | events/s | raw COPY of the same rows, events/s | vs raw COPY | bare COPY, events/s | vs bare COPY |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.path} | ${Math.round(r.perSecond)} | ${Math.round(r.copy)} | ${percent(r.ratio)} | ${Math.round(r.bare)} | ${percent(r.bareRatio)} |`,
      );
    }
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
