// The connector of a fresh install with no CRM: it sends nothing and records the request the webhook connector
// would have sent, so the whole loop (approval -> outbox -> delivery -> executed) runs on demo data.
import type { Connector } from './connector.ts';
import { webhookBody } from './webhook.ts';

export const LOG_NOTE =
  'Nothing left the building: the "log" connector only records what would have been sent. ' +
  'Set FUNNELGATE_EXECUTION_CONNECTOR to webhook, hubspot or salesforce to deliver for real.';

export function logConnector(): Connector {
  return {
    name: 'log',
    async deliver(delivery) {
      return {
        ok: true,
        response: {
          nothing_left_the_building: true,
          note: LOG_NOTE,
          request: {
            method: 'POST',
            url: '(FUNNELGATE_WEBHOOK_URL)',
            headers: { 'webhook-id': delivery.idempotencyKey, 'idempotency-key': delivery.idempotencyKey },
            body: webhookBody(delivery, new Date()),
          },
        },
      };
    },
  };
}
