// What a connector is: something that turns one approved action into one request to the outside world and says
// whether it worked, and if not, whether trying again could help. Connectors never read the database and never
// decide what runs; the delivery loop hands them exactly the frozen action of one outbox row.
import type { Action } from '../../agents/actions.ts';

/** A person or contact as the outside world knows it: our id, the email, and ids in CRMs (by source name). */
export interface PartyRef {
  id: string;
  email: string | null;
  crmIds: Record<string, string>;
}

/** Looked up by the delivery loop from the action's parameters; translation only, never part of the action. */
export interface DeliveryRefs {
  contact?: PartyRef;
  owner?: PartyRef;
  previousOwner?: PartyRef;
}

export interface Delivery {
  /** `fg-<decision id>-<kind>`: the same on every attempt and replay, so the receiver can de-duplicate. */
  idempotencyKey: string;
  decisionId: string;
  kind: 'action' | 'compensation';
  /** Exactly the outbox payload: the approved action, or for a compensation its inverse. */
  action: Action;
  refs: DeliveryRefs;
}

/** What is kept of the exchange (outbox.response); small, and without credentials. */
export interface DeliveryResponse {
  status?: number;
  body?: unknown;
  request?: { method: string; url: string; headers?: Record<string, string>; body?: unknown };
  [key: string]: unknown;
}

export type DeliveryResult =
  | { ok: true; response: DeliveryResponse }
  | {
      ok: false;
      /** True for network errors, timeouts, 408, 409, 429 and 5xx: the same request may succeed later. */
      retryable: boolean;
      error: string;
      status?: number;
      /** From a Retry-After header. */
      retryAfterMs?: number;
    };

export interface Connector {
  name: string;
  deliver(delivery: Delivery, signal: AbortSignal): Promise<DeliveryResult>;
}
