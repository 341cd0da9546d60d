// The agents this version ships. Names are stable: they are recorded on every decision.
import { AppError } from '../errors.ts';
import type { Agent } from './agent.ts';
import { followupAgent } from './followup-agent.ts';
import { nbaAgent } from './nba-agent.ts';
import { qualificationAgent } from './qualification-agent.ts';
import { routingAgent } from './routing-agent.ts';

export const AGENTS: readonly Agent[] = [qualificationAgent, routingAgent, followupAgent, nbaAgent];

export const AGENT_NAMES = AGENTS.map((a) => a.name) as [string, ...string[]];

/** The agents that decide about one contact at a time (routing decides a batch). */
export const PER_CONTACT_AGENTS = AGENTS.filter((a) => a !== routingAgent).map((a) => a.name);

export function getAgents(names?: readonly string[]): Agent[] {
  if (!names || names.length === 0) return [...AGENTS];
  const unknown = names.filter((n) => !AGENTS.some((a) => a.name === n));
  if (unknown.length > 0) {
    throw new AppError(
      'validation_failed',
      `Unknown agent(s): ${unknown.join(', ')}. Known agents: ${AGENT_NAMES.join(', ')}`,
      { fields: [{ field: 'agents', message: `known: ${AGENT_NAMES.join(', ')}` }] },
    );
  }
  return AGENTS.filter((a) => names.includes(a.name));
}

export function describeAgents() {
  return AGENTS.map((a) => ({
    name: a.name,
    version: a.version,
    action_kind: a.kind,
    description: a.description,
    scope: 'proposeBatch' in a ? ('batch' as const) : ('contact' as const),
  }));
}
