// Salesforce REST request shapes (sObject API v61.0).
//
//   lead.assign_owner   PATCH {instance}/services/data/v61.0/sobjects/Lead/{id}   { OwnerId }
//   lead.qualify        PATCH {instance}/services/data/v61.0/sobjects/Lead/{id}   { Status }
//   followup.schedule,  POST  {instance}/services/data/v61.0/sobjects/Task        { Subject, Description,
//   nba.recommend,                                                                  ActivityDate, WhoId, ... }
//   funnel.remediate
//
// The Lead id is the contact's identity key `crm:<source>:<id>` (source FUNNELGATE_CRM_SOURCE, default
// "salesforce"); without one the delivery fails permanently (Salesforce addresses records by id). Users have no
// Salesforce user id in Funnelgate yet: without one, the owner's email goes into a custom field
// `Funnelgate_Owner_Email__c` (create it on Lead and Task, and a flow that sets OwnerId from it). Lead Status
// values are those of a current Sales Cloud org (Qualified, Nurturing, Unqualified); see STATUS below.
import type { Connector, Delivery, PartyRef } from './connector.ts';
import { crmIdOf, label, refused, ShapeError } from './crm-shapes.ts';
import { sendJson, type JsonRequest } from './http.ts';

export const SALESFORCE_API_VERSION = 'v61.0';

export interface SalesforceSettings {
  url: string;
  token: string;
  source: string;
}

const STATUS: Record<string, string> = {
  sql: 'Qualified',
  nurture: 'Nurturing',
  disqualified: 'Unqualified',
};

export function salesforceRequest(delivery: Delivery, settings: SalesforceSettings, now: Date): JsonRequest {
  const sobjects = `${settings.url.replace(/\/+$/, '')}/services/data/${SALESFORCE_API_VERSION}/sobjects`;
  const headers = {
    authorization: `Bearer ${settings.token}`,
    'idempotency-key': delivery.idempotencyKey,
  };
  const p = delivery.action.params;
  const leadId = (): string => {
    const id = crmIdOf(delivery.refs.contact, settings.source);
    if (!id) {
      throw new ShapeError(
        `contact ${String(p['contact_id'])} has no Salesforce Lead id (identity key crm:${settings.source}:<id>)`,
      );
    }
    return id;
  };
  const owner = (ref: PartyRef | undefined): Record<string, string> => {
    if (!ref) return {};
    const id = crmIdOf(ref, settings.source);
    if (id) return { OwnerId: id };
    if (!ref.email) throw new ShapeError(`owner ${ref.id} has neither a Salesforce user id nor an email`);
    return { Funnelgate_Owner_Email__c: ref.email };
  };
  const task = (fields: Record<string, unknown>): JsonRequest => ({
    method: 'POST',
    url: `${sobjects}/Task`,
    headers,
    body: { Status: 'Not Started', Priority: 'Normal', ...fields },
  });
  const description = (text: string) => `${text}\n\n(Funnelgate decision ${delivery.decisionId})`;

  switch (delivery.action.type) {
    case 'lead.assign_owner':
      return {
        method: 'PATCH',
        url: `${sobjects}/Lead/${encodeURIComponent(leadId())}`,
        headers,
        body: owner(delivery.refs.owner),
      };
    case 'lead.qualify': {
      const status = STATUS[String(p['to_stage'])];
      if (!status) throw new ShapeError(`no Lead Status for stage "${String(p['to_stage'])}"`);
      return {
        method: 'PATCH',
        url: `${sobjects}/Lead/${encodeURIComponent(leadId())}`,
        headers,
        body: { Status: status },
      };
    }
    case 'followup.schedule': {
      const at = new Date(String(p['at']));
      return task({
        Subject: `Follow up by ${String(p['channel'])}`,
        Description: description(`Timed for the contact's working hours (${String(p['timezone'])}).`),
        TaskSubtype: p['channel'] === 'call' ? 'Call' : 'Email',
        ActivityDate: at.toISOString().slice(0, 10),
        IsReminderSet: true,
        ReminderDateTime: at.toISOString(),
        WhoId: leadId(),
        ...owner(delivery.refs.owner),
      });
    }
    case 'nba.recommend':
      return task({
        Subject: `Next best action: ${label(String(p['action']))}`,
        Description: description(typeof p['note'] === 'string' ? p['note'] : 'Recommended next step.'),
        TaskSubtype: p['action'] === 'call' ? 'Call' : p['action'] === 'email' ? 'Email' : 'Task',
        ActivityDate: now.toISOString().slice(0, 10),
        WhoId: leadId(),
        ...owner(delivery.refs.owner),
      });
    case 'funnel.remediate':
      return task({
        Subject: `Funnel remediation at ${String(p['stage'])}: ${label(String(p['remedy']))}`,
        Description: description(`${String(p['note'])}\nSegment: ${JSON.stringify(p['segment'])}`),
        TaskSubtype: 'Task',
        ActivityDate: now.toISOString().slice(0, 10),
      });
  }
}

export function salesforceConnector(settings: SalesforceSettings): Connector {
  return {
    name: 'salesforce',
    async deliver(delivery, signal) {
      let request: JsonRequest;
      try {
        request = salesforceRequest(delivery, settings, new Date());
      } catch (error) {
        if (error instanceof ShapeError) return refused('salesforce', error);
        throw error;
      }
      return sendJson(request, signal);
    },
  };
}
