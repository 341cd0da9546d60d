// Which outcomes count as success for which action. Pure.
//
// Outcomes read from events (see extract-outcomes.ts):
//   meeting_held        meeting.held
//   replied             email.replied
//   unsubscribed        email.unsubscribed
//   became_sql          crm.contact.stage_changed to sql, opportunity or customer
//   disqualified        crm.contact.stage_changed to disqualified
//   opportunity_created crm.opportunity.created
//   won / lost          crm.opportunity.stage_changed (or .updated) with status won / lost, value = amount
//   <name>              outcome.observed (name, value, positive from the event)
export const OUTCOME_NAMES = [
  'meeting_held',
  'replied',
  'unsubscribed',
  'became_sql',
  'disqualified',
  'opportunity_created',
  'won',
  'lost',
] as const;

/** Outcomes that are bad news whatever the action was. */
export const NEGATIVE_OUTCOMES = new Set(['unsubscribed', 'disqualified', 'lost']);

/**
 * What "the decision was right" means per action, for the precision of automatic decisions. A qualification to
 * SQL is right when an opportunity follows; routing and follow-ups are right when the lead engages.
 */
const SUCCESS_BY_ACTION: Record<string, (params: Record<string, unknown>) => string[]> = {
  'lead.qualify': (p) =>
    p['to_stage'] === 'sql'
      ? ['opportunity_created', 'won']
      : p['to_stage'] === 'nurture'
        ? ['replied', 'meeting_held', 'became_sql']
        : ['disqualified'],
  'lead.assign_owner': () => ['replied', 'meeting_held', 'became_sql'],
  'followup.schedule': () => ['replied', 'meeting_held'],
  'nba.recommend': (p) =>
    p['action'] === 'disqualify'
      ? ['disqualified']
      : ['replied', 'meeting_held', 'became_sql', 'opportunity_created'],
};

export function successOutcomes(actionType: string, params: Record<string, unknown>): string[] {
  return (
    SUCCESS_BY_ACTION[actionType]?.(params) ?? [
      'replied',
      'meeting_held',
      'became_sql',
      'opportunity_created',
      'won',
    ]
  );
}

/** Whether a decision's linked outcomes make it a success. */
export function isSuccess(
  actionType: string,
  params: Record<string, unknown>,
  outcomes: readonly { name: string; positive: boolean }[],
): boolean {
  const wanted = new Set(successOutcomes(actionType, params));
  return outcomes.some((o) => o.positive && wanted.has(o.name));
}
