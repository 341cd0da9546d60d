import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadConfig } from '../src/config.ts';
import { connectNats, ensureStream, runNatsConsumer } from '../src/ingest/nats-consumer.ts';
import { publishCloudEvents } from '../src/ingest/nats-publish.ts';
import { benchEvents, benchServer, freshDatabase, logger } from './lib.ts';
const procCpu = (name: string) => {
  let t = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!s.includes(`(${name})`)) continue;
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      /* gone */
    }
  }
  return t / 100;
};
const server = await benchServer();
const count = 50000;
const target = await freshDatabase(server, 'nats');
const servers = loadConfig({ defaults: { logLevel: 'warn' } }).natsUrl;
const suffix = randomBytes(4).toString('hex');
const stream = `FG_BENCH_${suffix}`;
const subject = `fgbench.${suffix}.events`;
const nc = await connectNats(servers, 'bench');
const jsm = await nc.jetstreamManager();
await ensureStream(jsm, stream, [subject], true);
await publishCloudEvents(
  servers,
  subject,
  benchEvents(count) as unknown as { source: string; id: string }[],
  { connection: nc },
);
await new Promise((r) => setTimeout(r, 1000));
const profile = process.argv.includes('--prof');
const session = new Session();
if (profile) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const abort = new AbortController();
const pg0 = procCpu('postgres');
const n0 = procCpu('nats-server');
const c0 = process.cpuUsage();
const t0 = performance.now();
const handle = await runNatsConsumer({
  db: target.db,
  logger,
  servers,
  stream,
  durable: 'bench',
  subjects: [subject],
  signal: abort.signal,
});
while (handle.counters.stored < count) await new Promise((r) => setTimeout(r, 20));
const wall = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
console.log(
  `nats ${Math.round(count / wall)}/s wall ${wall.toFixed(2)} node ${((c.user + c.system) / 1e6).toFixed(2)} pg ${(procCpu('postgres') - pg0).toFixed(2)} nats-server ${(procCpu('nats-server') - n0).toFixed(2)}`,
);
if (profile) {
  const { profile: p } = await session.post('Profiler.stop');
  writeFileSync('/tmp/prof/nats.cpuprofile', JSON.stringify(p));
}
abort.abort();
await handle.done;
await jsm.streams.delete(stream);
await nc.close();
await target.drop();
await server.stop();
