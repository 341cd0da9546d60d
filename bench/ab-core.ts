// Paired A/B of the ingestion core: another checkout's code (e.g. `git worktree add /tmp/old HEAD~1`, with
// node_modules linked) and this one's, loaded in one process, ingesting the same bench stream into a database
// each, alternating slices so both see the same machine speed (it drifts by tens of per cent within minutes).
// `node bench/ab-core.ts --old /tmp/old [--events 60000] [--slice 6000] [--batch 500] [--writers 2]`
import { parseArgs } from 'node:util';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchEvents, benchServer, freshDatabase } from './lib.ts';
import { ingestCloudEvents } from '../src/ingest/ingest-events.ts';

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    events: { type: 'string', default: '60000' },
    slice: { type: 'string', default: '6000' },
    batch: { type: 'string', default: '500' },
    writers: { type: 'string', default: '2' },
  },
});
if (!values.old) throw new Error('--old: the path of the other checkout to compare with');
const from = (file: string) => pathToFileURL(path.resolve(values.old!, file)).href;
const oldLib = (await import(from('bench/lib.ts'))) as { freshDatabase: typeof freshDatabase };
const oldIngest = (await import(from('src/ingest/ingest-events.ts'))) as {
  ingestCloudEvents: typeof ingestCloudEvents;
};
const count = Number(values.events);
const slice = Number(values.slice);
const batch = Number(values.batch);
const writers = Number(values.writers);

const server = await benchServer();
const databases = [await oldLib.freshDatabase(server, 'old'), await freshDatabase(server, 'new')];
const ingest = [oldIngest.ingestCloudEvents, ingestCloudEvents];
try {
  const events = benchEvents(count);
  const seconds = [0, 0];
  const ratios: number[] = [];
  for (let round = 0, at = 0; at < count; round++, at += slice) {
    const part = events.slice(at, at + slice);
    const took = [0, 0];
    for (const v of round % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: writers }, async () => {
          while (next < part.length) {
            const call = part.slice(next, next + batch);
            next += batch;
            const report = await ingest[v]!(databases[v]!.db, call, { channel: 'http' });
            if (report.accepted !== call.length) throw new Error(`variant ${v} did not accept every event`);
          }
        }),
      );
      took[v] = (performance.now() - t0) / 1000;
      seconds[v]! += took[v]!;
    }
    ratios.push(took[0]! / took[1]!);
  }
  ratios.sort((a, b) => a - b);
  console.log(`old ${Math.round(count / seconds[0]!)}/s, new ${Math.round(count / seconds[1]!)}/s`);
  console.log(
    `new / old: ${(seconds[0]! / seconds[1]!).toFixed(3)} overall, median of rounds ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
  );
} finally {
  for (const database of databases) await database.drop();
  await server.stop();
}
