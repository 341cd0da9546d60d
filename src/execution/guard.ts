// What may be sent, decided from the decision as it is now. Pure. Fail closed: anything not clearly allowed is
// refused, and a refused delivery sends nothing.
import type { Action } from '../agents/actions.ts';
import { canonicalJson } from '../audit/audit-log.ts';
import { EXECUTABLE_STATES, type DecisionState } from '../domain/decision-state.ts';

export interface DecisionView {
  status: string;
  approved_action: unknown;
}

/**
 * The inverse of a reversible action, or why there is none. Only a routing can be undone today: the contact
 * goes back to the owner it had before.
 */
export function inverseAction(action: Action): { ok: true; action: Action } | { ok: false; reason: string } {
  if (action.type !== 'lead.assign_owner')
    return { ok: false, reason: `${action.type} is not reversible: there is no compensating action for it` };
  const previous = action.params['previous_owner_id'];
  if (typeof previous !== 'string')
    return {
      ok: false,
      reason: 'the contact had no owner before this routing, so there is no previous owner to restore',
    };
  return {
    ok: true,
    action: {
      type: 'lead.assign_owner',
      params: {
        contact_id: action.params['contact_id'],
        owner_id: previous,
        previous_owner_id: action.params['owner_id'],
      },
    },
  };
}

/**
 * Why this outbox row must not be delivered now, or null if it may. `stage` says where the delivery is: at the
 * claim the decision must still be approved (or executing, retrying, or failed and replayed); just before the
 * request it must be executing (an action) — a compensation always needs an executed decision.
 */
export function refusalReason(
  kind: 'action' | 'compensation',
  decision: DecisionView | undefined,
  payload: unknown,
  stage: 'claim' | 'send',
): string | null {
  if (!decision) return 'the decision does not exist';
  const status = decision.status as DecisionState;
  if (!decision.approved_action) return `the decision (${status}) has no approved action`;
  if (kind === 'action') {
    const allowed: readonly string[] =
      stage === 'claim' ? [...EXECUTABLE_STATES, 'executing', 'failed'] : ['executing'];
    if (!allowed.includes(status)) return `the decision is ${status}, not approved for execution`;
    if (canonicalJson(payload) !== canonicalJson(decision.approved_action))
      return 'the outbox payload is not the approved action';
    return null;
  }
  if (status !== 'executed') return `the decision is ${status}; only an executed decision can be compensated`;
  const inverse = inverseAction(decision.approved_action as Action);
  if (!inverse.ok) return inverse.reason;
  if (canonicalJson(payload) !== canonicalJson(inverse.action))
    return 'the outbox payload is not the inverse of the approved action';
  return null;
}
