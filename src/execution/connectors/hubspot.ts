// HubSpot CRM v3 request shapes (https://developers.hubspot.com/docs/api/crm/contacts, /tasks).
//
//   lead.assign_owner   PATCH {base}/crm/v3/objects/contacts/{id}   { properties: { hubspot_owner_id } }
//   lead.qualify        PATCH {base}/crm/v3/objects/contacts/{id}   { properties: { lifecyclestage | hs_lead_status } }
//   followup.schedule,  POST  {base}/crm/v3/objects/tasks          { properties: { hs_timestamp, hs_task_subject,
//   nba.recommend,                                                    hs_task_body, hs_task_type, ... },
//   funnel.remediate                                                  associations: [task -> contact, type 204] }
//
// The contact's HubSpot id is its identity key `crm:<source>:<id>` (source FUNNELGATE_CRM_SOURCE, default
// "hubspot"); without one, a contact PATCH addresses it by email (`?idProperty=email`), and a task, which must
// be associated by id, fails permanently. Users have no HubSpot owner id in Funnelgate yet: when the owner has
// none, the owner's email goes into the `hubspot_owner_email` contact/task property instead of
// `hubspot_owner_id`. That property does not exist in a stock portal: create it (single-line text) and a
// workflow that sets the owner from it, or the request fails with 400 and the delivery lands in the dead-letter
// queue, where it can be replayed once the portal is ready.
import type { ActionType } from '../../agents/actions.ts';
import type { Connector, Delivery, PartyRef } from './connector.ts';
import { crmIdOf, label, refused, ShapeError } from './crm-shapes.ts';
import { sendJson, type JsonRequest } from './http.ts';

export interface HubspotSettings {
  url: string;
  token: string;
  source: string;
}

/** Task to contact, HubSpot-defined association. */
const TASK_TO_CONTACT = 204;

const QUALIFY_PROPERTIES: Record<string, Record<string, string>> = {
  sql: { lifecyclestage: 'salesqualifiedlead' },
  nurture: { lifecyclestage: 'marketingqualifiedlead' },
  disqualified: { hs_lead_status: 'UNQUALIFIED' },
};

export function hubspotRequest(delivery: Delivery, settings: HubspotSettings, now: Date): JsonRequest {
  const base = settings.url.replace(/\/+$/, '');
  const headers = {
    authorization: `Bearer ${settings.token}`,
    'idempotency-key': delivery.idempotencyKey,
  };
  const p = delivery.action.params;
  const type: ActionType = delivery.action.type;
  const ownerProperties = (ref: PartyRef | undefined): Record<string, string> => {
    if (!ref) return {};
    const id = crmIdOf(ref, settings.source);
    if (id) return { hubspot_owner_id: id };
    if (!ref.email) throw new ShapeError(`owner ${ref.id} has neither a HubSpot owner id nor an email`);
    return { hubspot_owner_email: ref.email };
  };
  const contactUrl = (): string => {
    const contact = delivery.refs.contact;
    const id = crmIdOf(contact, settings.source);
    if (id) return `${base}/crm/v3/objects/contacts/${encodeURIComponent(id)}`;
    if (contact?.email)
      return `${base}/crm/v3/objects/contacts/${encodeURIComponent(contact.email)}?idProperty=email`;
    throw new ShapeError(
      `contact ${String(p['contact_id'])} has no HubSpot id (identity key crm:${settings.source}:<id>) and no email`,
    );
  };
  const contactAssociation = () => {
    const id = crmIdOf(delivery.refs.contact, settings.source);
    if (!id) {
      throw new ShapeError(
        `contact ${String(p['contact_id'])} has no HubSpot id (identity key crm:${settings.source}:<id>); a task needs one to be associated`,
      );
    }
    return [
      { to: { id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: TASK_TO_CONTACT }] },
    ];
  };
  const task = (properties: Record<string, string>, associations: unknown[]): JsonRequest => ({
    method: 'POST',
    url: `${base}/crm/v3/objects/tasks`,
    headers,
    body: { properties: { hs_task_status: 'NOT_STARTED', ...properties }, associations },
  });
  const body = (text: string) => `${text}\n\n(Funnelgate decision ${delivery.decisionId})`;

  switch (type) {
    case 'lead.assign_owner':
      return {
        method: 'PATCH',
        url: contactUrl(),
        headers,
        body: { properties: ownerProperties(delivery.refs.owner) },
      };
    case 'lead.qualify': {
      const properties = QUALIFY_PROPERTIES[String(p['to_stage'])];
      if (!properties) throw new ShapeError(`no HubSpot property for stage "${String(p['to_stage'])}"`);
      return { method: 'PATCH', url: contactUrl(), headers, body: { properties } };
    }
    case 'followup.schedule':
      return task(
        {
          hs_timestamp: new Date(String(p['at'])).toISOString(),
          hs_task_subject: `Follow up by ${String(p['channel'])}`,
          hs_task_body: body(`Timed for the contact's working hours (${String(p['timezone'])}).`),
          hs_task_type: p['channel'] === 'call' ? 'CALL' : 'EMAIL',
          ...ownerProperties(delivery.refs.owner),
        },
        contactAssociation(),
      );
    case 'nba.recommend':
      return task(
        {
          hs_timestamp: now.toISOString(),
          hs_task_subject: `Next best action: ${label(String(p['action']))}`,
          hs_task_body: body(typeof p['note'] === 'string' ? p['note'] : 'Recommended next step.'),
          hs_task_type: p['action'] === 'call' ? 'CALL' : p['action'] === 'email' ? 'EMAIL' : 'TODO',
          ...ownerProperties(delivery.refs.owner),
        },
        contactAssociation(),
      );
    case 'funnel.remediate':
      return task(
        {
          hs_timestamp: now.toISOString(),
          hs_task_subject: `Funnel remediation at ${String(p['stage'])}: ${label(String(p['remedy']))}`,
          hs_task_body: body(`${String(p['note'])}\nSegment: ${JSON.stringify(p['segment'])}`),
          hs_task_type: 'TODO',
        },
        [],
      );
  }
}

export function hubspotConnector(settings: HubspotSettings): Connector {
  return {
    name: 'hubspot',
    async deliver(delivery, signal) {
      let request: JsonRequest;
      try {
        request = hubspotRequest(delivery, settings, new Date());
      } catch (error) {
        if (error instanceof ShapeError) return refused('hubspot', error);
        throw error;
      }
      return sendJson(request, signal);
    },
  };
}
