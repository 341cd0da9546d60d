// Publishing CloudEvents to JetStream, for producers, tests and the simulator. Each message carries the
// Nats-Msg-Id `${source}:${id}`, so JetStream itself drops a republished event within its duplicate window;
// anything that slips through is still stored once, because the events table is keyed on (source, id).
import type { NatsConnection } from 'nats';
import { connectNats } from './nats-consumer.ts';

export interface PublishableEvent {
  source: string;
  id: string;
}

export interface PublishOptions {
  /** The JetStream message id; default `${source}:${id}`. */
  msgId?: (event: PublishableEvent, index: number) => string;
  /** Publishes awaiting their acknowledgment at once (default 256). */
  inFlight?: number;
  /** Reuse a connection instead of opening one. */
  connection?: NatsConnection;
}

export interface PublishReport {
  published: number;
  /** Events JetStream recognised as already published (same message id within the duplicate window). */
  duplicates: number;
}

/** Publishes each event as one JSON message and waits until JetStream has stored all of them. */
export async function publishCloudEvents(
  servers: string | string[],
  subject: string,
  events: readonly PublishableEvent[],
  options: PublishOptions = {},
): Promise<PublishReport> {
  const nc = options.connection ?? (await connectNats(servers, 'funnelgate publish'));
  const js = nc.jetstream();
  const encoder = new TextEncoder();
  const msgId = options.msgId ?? ((event) => `${event.source}:${event.id}`);
  const inFlight = options.inFlight ?? 256;
  let duplicates = 0;
  try {
    for (let start = 0; start < events.length; start += inFlight) {
      const acks = await Promise.all(
        events
          .slice(start, start + inFlight)
          .map((event, i) =>
            js.publish(subject, encoder.encode(JSON.stringify(event)), { msgID: msgId(event, start + i) }),
          ),
      );
      duplicates += acks.filter((ack) => ack.duplicate).length;
    }
  } finally {
    if (!options.connection) await nc.drain();
  }
  return { published: events.length, duplicates };
}
