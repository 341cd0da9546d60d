// `npm run bench [-- --events 50000 --only copy,api,csv,nats,memory]`
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
  },
});
const count = Number(values.events);
const only = new Set(values.only.split(','));

const server = await benchServer();
const rows: {
  path: string;
  events: number;
  seconds: number;
  perSecond: number;
  vsCopy?: string;
  note?: string;
}[] = [];
console.log(`Funnelgate ingest benchmark — ${count} events — ${machine()} — ${server.kind}`);

try {
  let copyRate: number | undefined;
  if (only.has('copy')) {
    const r = await benchCopy(server, count);
    copyRate = r.events / r.seconds;
    rows.push({ path: 'raw COPY into events (baseline)', ...r, perSecond: copyRate });
  }
  const ratio = (rate: number) => (copyRate ? `${((100 * rate) / copyRate).toFixed(0)} %` : 'n/a');
  if (only.has('api')) {
    // Batches of 1,000 (a typical client) and of 2,000 (a bulk loader: one of the server's transactions each).
    for (const batchSize of [1000, 2000]) {
      const r = await benchApi(server, count, batchSize);
      rows.push({
        path: `HTTP batch API (POST /v1/events, ${batchSize}/batch, 2 clients)`,
        ...r,
        perSecond: r.events / r.seconds,
        vsCopy: ratio(r.events / r.seconds),
      });
    }
  }
  if (only.has('csv')) {
    const { benchCsv } = await import('./ingest-csv.ts');
    const r = await benchCsv(server, count);
    rows.push({
      path: 'CSV import (funnelgate import csv)',
      ...r,
      perSecond: r.events / r.seconds,
      vsCopy: ratio(r.events / r.seconds),
    });
  }
  if (only.has('nats')) {
    const { benchNats } = await import('./ingest-nats.ts');
    const r = await benchNats(server, count);
    rows.push({
      path: `NATS JetStream consumer (1 consumer, ${DEFAULT_NATS_BATCH_SIZE}/fetch)`,
      ...r,
      perSecond: r.events / r.seconds,
      vsCopy: ratio(r.events / r.seconds),
    });
  }
  console.log('');
  console.log('| path | events | seconds | events/s | vs raw COPY |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.path} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond)} | ${r.vsCopy ?? '—'} |`,
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
