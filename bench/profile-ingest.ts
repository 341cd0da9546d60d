// Profiling aid: ingests the bench stream straight through ingestCloudEvents (no HTTP), on one or more writers,
// and prints the rate next to a raw COPY of the same size in the same run, and this process's CPU time; run it
// under `node --cpu-prof` to see where Node spends its share.
// `node bench/profile-ingest.ts [--events 50000] [--batch 1000] [--writers 1]`
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { Kysely, PostgresDialect } from 'kysely';
import type { Db } from '../src/db/database.ts';
import { ingestCloudEvents } from '../src/ingest/ingest-events.ts';
import { benchCopy } from './ingest-copy.ts';
import { benchEvents, benchServer, countEvents, freshDatabase } from './lib.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '1000' },
    writers: { type: 'string', default: '1' },
    statements: { type: 'boolean', default: false },
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
  // --statements: the time each kind of statement took (round trip), summed, to see where a chunk goes.
  const byStatement = new Map<string, { n: number; ms: number }>();
  const db: Db = values.statements
    ? new Kysely({
        dialect: new PostgresDialect({ pool: target.pool }),
        log(event) {
          const label = event.query.sql.replace(/\s+/g, ' ').slice(0, 70);
          const entry = byStatement.get(label) ?? { n: 0, ms: 0 };
          entry.n++;
          entry.ms += event.queryDurationMillis;
          byStatement.set(label, entry);
        },
      })
    : target.db;
  const pgCpu = () => {
    let ticks = 0;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      } catch {
        // the process ended while we looked
      }
    }
    return ticks / 100;
  };
  const pg0 = pgCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const window0 = process.hrtime.bigint() / 1000n;
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(values.writers) }, async () => {
      while (next < events.length) {
        const slice = events.slice(next, next + batch);
        next += batch;
        const report = await ingestCloudEvents(db, slice, { channel: 'http' });
        if (report.accepted !== slice.length)
          throw new Error(JSON.stringify(report.results.find((r) => r.status !== 'accepted')));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  // For `node --cpu-prof`: the ingestion's span on the profile's clock (monotonic µs), to leave set-up out.
  console.log(`profile window ${window0} ${process.hrtime.bigint() / 1000n}`);
  const cpu = process.cpuUsage(cpu0);
  console.log(`postgres cpu ${(pgCpu() - pg0).toFixed(2)} s`);
  console.log(
    `${count} events in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)}/s (COPY ${Math.round(copyRate)}/s: ${Math.round((100 * count) / seconds / copyRate)} %); node cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
  );
  if ((await countEvents(target.db)) !== count) throw new Error('count mismatch');
  for (const [label, { n, ms }] of [...byStatement].sort((a, b) => b[1].ms - a[1].ms))
    console.log(`${ms.toFixed(0).padStart(7)} ms ${String(n).padStart(6)}x  ${label}`);
} finally {
  await target.drop();
  await server.stop();
}
