// The NATS side of the streaming consumer, in a worker thread: fetching from the durable pull consumer, decoding
// message bodies and sending acknowledgments. The NATS client's own work per message (protocol parsing, message
// objects, acknowledgments) took about a tenth of the main thread in the NATS benchmark, whose pace that thread
// sets; here it runs beside it. The main thread stores each batch and answers with one outcome
// per message (acknowledge, or hand back after a delay); until it answers nothing is acknowledged.
import { parentPort, workerData } from 'node:worker_threads';
import { connect, type ConsumerMessages, type JsMsg } from 'nats';

export interface FetcherOptions {
  servers: string[];
  name: string;
  stream: string;
  durable: string;
  batchSize: number;
  fetchExpiresMs: number;
}

/** What the main thread asks. An outcome is -1 to acknowledge, or the delay in ms before redelivery (nak). */
export type FetcherRequest =
  | { type: 'fetch' }
  | { type: 'stop-fetch' }
  | { type: 'settle'; batch: number; outcomes: number[] }
  | { type: 'working'; batch: number }
  | { type: 'close' };

export type FetcherReport =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | {
      type: 'batch';
      batch: number;
      /** Bodies as text, NUL characters (which PostgreSQL cannot store) replaced. */
      texts: string[];
      subjects: string[];
      seqs: number[];
      deliveryCounts: number[];
    }
  | { type: 'fetch-failed'; message: string };

const options = workerData as FetcherOptions;
const port = parentPort!;
const post = (report: FetcherReport) => port.postMessage(report);
const utf8 = new TextDecoder();

try {
  const nc = await connect({ servers: options.servers, name: options.name, maxReconnectAttempts: -1 });
  const consumer = await nc.jetstream().consumers.get(options.stream, options.durable);
  const batches = new Map<number, JsMsg[]>();
  let nextBatch = 0;
  let fetching: ConsumerMessages | undefined;
  let stopRequested = false;

  const fetchOne = async () => {
    stopRequested = false;
    try {
      const iterator = await consumer.fetch({
        max_messages: options.batchSize,
        expires: options.fetchExpiresMs,
      });
      fetching = iterator;
      if (stopRequested) iterator.stop();
      const messages: JsMsg[] = [];
      for await (const msg of iterator) messages.push(msg);
      fetching = undefined;
      const batch = nextBatch++;
      if (messages.length > 0) batches.set(batch, messages);
      post({
        type: 'batch',
        batch,
        texts: messages.map((m) => utf8.decode(m.data).replaceAll('\u0000', '\uFFFD')),
        subjects: messages.map((m) => m.subject),
        seqs: messages.map((m) => m.seq),
        deliveryCounts: messages.map((m) => m.info.deliveryCount),
      });
    } catch (error) {
      fetching = undefined;
      post({ type: 'fetch-failed', message: (error as Error).message });
    }
  };

  port.on('message', (request: FetcherRequest) => {
    switch (request.type) {
      case 'fetch':
        void fetchOne();
        break;
      case 'stop-fetch':
        stopRequested = true;
        fetching?.stop();
        break;
      case 'working':
        for (const msg of batches.get(request.batch) ?? []) msg.working();
        break;
      case 'settle': {
        const messages = batches.get(request.batch) ?? [];
        batches.delete(request.batch);
        messages.forEach((msg, i) => {
          const outcome = request.outcomes[i] ?? 0;
          if (outcome < 0) msg.ack();
          else msg.nak(outcome);
        });
        break;
      }
      case 'close':
        fetching?.stop();
        // Whatever was never settled goes back at once rather than after the ack wait.
        for (const messages of batches.values()) for (const msg of messages) msg.nak();
        batches.clear();
        // The thread ends once the connection is drained and the port closed; the main thread waits for its exit.
        void nc
          .drain()
          .catch(() => undefined)
          .then(() => port.close());
        break;
    }
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'failed', message: (error as Error).message });
  port.close();
}
