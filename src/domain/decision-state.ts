// The decision state machine. Pure: which moves exist, and which states are final. Every move is recorded
// (decision_transitions and the audit trail) by the service that makes it.
export const DECISION_STATES = [
  'proposed',
  'auto_approved',
  'pending_review',
  'blocked',
  'approved',
  'edited_approved',
  'rejected',
  'expired',
  'withdrawn',
  'executing',
  'executed',
  'failed',
  'compensated',
  'outcome_observed',
] as const;
export type DecisionState = (typeof DECISION_STATES)[number];

const MOVES: Record<DecisionState, readonly DecisionState[]> = {
  proposed: ['auto_approved', 'pending_review', 'blocked', 'withdrawn'],
  pending_review: ['approved', 'edited_approved', 'rejected', 'expired', 'withdrawn'],
  auto_approved: ['executing'],
  approved: ['executing'],
  edited_approved: ['executing'],
  executing: ['executed', 'failed'],
  // A dead letter replayed by a person goes back to executing; nothing else leaves failed.
  failed: ['executing'],
  executed: ['outcome_observed', 'compensated'],
  compensated: [],
  outcome_observed: [],
  blocked: [],
  rejected: [],
  expired: [],
  withdrawn: [],
};

export function canMove(from: DecisionState, to: DecisionState): boolean {
  return MOVES[from].includes(to);
}

/** States in which the decision may still lead to an execution. */
export const OPEN_STATES: readonly DecisionState[] = [
  'proposed',
  'pending_review',
  'auto_approved',
  'approved',
  'edited_approved',
  'executing',
];

/** The only states from which an action may be delivered: a gate or the humans said yes. */
export const EXECUTABLE_STATES: readonly DecisionState[] = ['auto_approved', 'approved', 'edited_approved'];

export function isFinal(state: DecisionState): boolean {
  return MOVES[state].length === 0;
}
