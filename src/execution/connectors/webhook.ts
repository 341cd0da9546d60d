// The generic connector: the approved action as JSON, POSTed to one URL and signed the Standard Webhooks way
// (webhook-id = the idempotency key, so a receiver that de-duplicates on webhook-id sees each action once).
import { signWebhook } from '../../ingest/webhook-signature.ts';
import type { Connector, Delivery } from './connector.ts';
import { sendJson } from './http.ts';

/** The body the webhook receives (and what the log connector records). */
export function webhookBody(delivery: Delivery, now: Date) {
  return {
    type: delivery.kind === 'action' ? 'funnelgate.action.approved' : 'funnelgate.action.compensation',
    timestamp: now.toISOString(),
    data: {
      decision_id: delivery.decisionId,
      kind: delivery.kind,
      idempotency_key: delivery.idempotencyKey,
      action: delivery.action,
      context: delivery.refs,
    },
  };
}

export function webhookConnector(settings: { url: string; secret: string }): Connector {
  return {
    name: 'webhook',
    async deliver(delivery, signal) {
      const now = new Date();
      const body = webhookBody(delivery, now);
      const timestamp = Math.floor(now.getTime() / 1000);
      return sendJson(
        {
          method: 'POST',
          url: settings.url,
          headers: {
            'webhook-id': delivery.idempotencyKey,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(
              settings.secret,
              delivery.idempotencyKey,
              timestamp,
              JSON.stringify(body),
            ),
            'idempotency-key': delivery.idempotencyKey,
          },
          body,
        },
        signal,
      );
    },
  };
}
