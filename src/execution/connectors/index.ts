// Connectors by name. An outbox row names its connector when it is written (FUNNELGATE_EXECUTION_CONNECTOR at
// approval time), so a row is always delivered where it was meant to go, even after the setting changes.
import type { ConnectorSettings } from '../settings.ts';
import type { Connector } from './connector.ts';
import { hubspotConnector } from './hubspot.ts';
import { logConnector } from './log.ts';
import { salesforceConnector } from './salesforce.ts';
import { webhookConnector } from './webhook.ts';

export const CONNECTOR_NAMES = ['log', 'webhook', 'hubspot', 'salesforce'] as const;

/** The connector, or why it cannot run here (the row then waits; nothing is attempted or counted). */
export function connectorFor(
  name: string,
  settings: ConnectorSettings,
): { connector: Connector } | { unavailable: string } {
  switch (name) {
    case 'log':
      return { connector: logConnector() };
    case 'webhook': {
      const { url, secret } = settings.webhook;
      if (!url || !secret)
        return {
          unavailable: 'the webhook connector needs FUNNELGATE_WEBHOOK_URL and FUNNELGATE_WEBHOOK_SECRET',
        };
      return { connector: webhookConnector({ url, secret }) };
    }
    case 'hubspot': {
      const { url, token, source } = settings.hubspot;
      if (!token) return { unavailable: 'the hubspot connector needs FUNNELGATE_HUBSPOT_TOKEN' };
      return { connector: hubspotConnector({ url, token, source }) };
    }
    case 'salesforce': {
      const { url, token, source } = settings.salesforce;
      if (!url || !token)
        return {
          unavailable:
            'the salesforce connector needs FUNNELGATE_SALESFORCE_URL and FUNNELGATE_SALESFORCE_TOKEN',
        };
      return { connector: salesforceConnector({ url, token, source }) };
    }
    default:
      return { unavailable: `no connector named "${name}"; known: ${CONNECTOR_NAMES.join(', ')}` };
  }
}
