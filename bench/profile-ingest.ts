// Profiling aid: ingests the bench stream straight through ingestCloudEvents (no HTTP), on one or more writers,
// and prints the rate next to a raw COPY of the same size in the same run, and this process's CPU time; run it
// under `node --cpu-prof` to see where Node spends its share.
// `node bench/profile-ingest.ts [--events 50000] [--batch 1000] [--writers 1]`
import { parseArgs } from 'node:util';
import { ingestCloudEvents } from '../src/ingest/ingest-events.ts';
import { benchCopy } from './ingest-copy.ts';
import { benchEvents, benchServer, countEvents, freshDatabase } from './lib.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '1000' },
    writers: { type: 'string', default: '1' },
  },
});
const count = Number(values.events);
const batch = Number(values.batch);
const server = await benchServer();
const copy = await benchCopy(server, count);
const copyRate = copy.events / copy.seconds;
const target = await freshDatabase(server, 'profile');
try {
  const events = benchEvents(count);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(values.writers) }, async () => {
      while (next < events.length) {
        const slice = events.slice(next, next + batch);
        next += batch;
        const report = await ingestCloudEvents(target.db, slice, { channel: 'http' });
        if (report.accepted !== slice.length)
          throw new Error(JSON.stringify(report.results.find((r) => r.status !== 'accepted')));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${count} events in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)}/s (COPY ${Math.round(copyRate)}/s: ${Math.round((100 * count) / seconds / copyRate)} %); node cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
  );
  if ((await countEvents(target.db)) !== count) throw new Error('count mismatch');
} finally {
  await target.drop();
  await server.stop();
}
