// Shared by the CRM connectors: an action they cannot express, or a reference they cannot resolve, is a
// permanent failure (retrying the same request cannot help; a person has to look).
import type { DeliveryResult, PartyRef } from './connector.ts';

export class ShapeError extends Error {}

export function refused(connector: string, error: ShapeError): DeliveryResult {
  return { ok: false, retryable: false, error: `${connector}: ${error.message}` };
}

export function crmIdOf(ref: PartyRef | undefined, source: string): string | undefined {
  return ref?.crmIds[source];
}

/** A human-readable line for task bodies. */
export function label(value: string): string {
  return value.replaceAll('_', ' ');
}
