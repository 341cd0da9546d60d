// The load client of the HTTP benchmark, run in a worker thread so its work (sending requests, reading answers)
// does not share the server's event loop; real clients run on other machines. Bodies arrive serialised, as the
// COPY baseline's rows do. The clock starts when the worker is up and says so (as the baseline's starts when its
// rows are built), on the "go" that answers its "ready".
import { parentPort, workerData } from 'node:worker_threads';

const { base, token, bodies, clients } = workerData as {
  base: string;
  token: string;
  bodies: string[];
  clients: number;
};
let next = 0;
await new Promise<void>((resolve) => {
  parentPort!.once('message', () => resolve());
  parentPort!.postMessage('ready');
});
await Promise.all(
  Array.from({ length: clients }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const response = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents-batch+json' },
        body,
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`batch failed: ${response.status} ${text}`);
    }
  }),
);
parentPort!.postMessage('done');
