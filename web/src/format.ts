// Numbers, times and actions as a person reads them.
import type { ActionView } from './types.ts';

const money = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

export function formatMoney(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : money.format(value);
}

export function formatPercent(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)} %`;
}

export function formatNumber(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? '–' : value.toFixed(digits);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  return new Date(iso).toLocaleString('en-GB', {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** "in 3 h 20 min", "12 min ago". */
export function formatRelative(iso: string | null | undefined, now: number): string {
  if (!iso) return '–';
  const ms = new Date(iso).getTime() - now;
  const text = formatDuration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.max(0, Math.floor(ms / 1000))} s`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** How urgent a deadline is: overdue, due within the hour, within four hours, or later. */
export function slaLevel(
  deadline: string | null,
  now: number,
): 'none' | 'overdue' | 'urgent' | 'soon' | 'ok' {
  if (!deadline) return 'none';
  const left = new Date(deadline).getTime() - now;
  if (left <= 0) return 'overdue';
  if (left < 60 * 60_000) return 'urgent';
  if (left < 4 * 60 * 60_000) return 'soon';
  return 'ok';
}

export const ACTION_LABELS: Record<string, string> = {
  'lead.qualify': 'Qualify lead',
  'lead.assign_owner': 'Assign owner',
  'followup.schedule': 'Schedule follow-up',
  'nba.recommend': 'Next best action',
  'funnel.remediate': 'Fix a funnel bottleneck',
};

const STAGE_WORDS: Record<string, string> = {
  sql: 'a sales-qualified lead (SQL)',
  nurture: 'nurture',
  disqualified: 'disqualified',
};

const NBA_WORDS: Record<string, string> = {
  email: 'send an email',
  call: 'call',
  meeting_request: 'ask for a meeting',
  nurture_sequence: 'put into a nurture sequence',
  escalate_to_ae: 'hand over to an account executive',
  disqualify: 'disqualify',
};

/** One sentence saying what would happen if this action ran. */
export function describeAction(
  action: ActionView,
  names: { person(id: unknown): string; subject?: string },
): string {
  const p = action.params;
  const who = names.subject ?? 'the contact';
  switch (action.type) {
    case 'lead.qualify':
      return `Move ${who} to ${STAGE_WORDS[String(p['to_stage'])] ?? String(p['to_stage'])}.`;
    case 'lead.assign_owner':
      return `Make ${names.person(p['owner_id'])} the owner of ${who}${
        p['previous_owner_id'] ? ` (instead of ${names.person(p['previous_owner_id'])})` : ''
      }.`;
    case 'followup.schedule':
      return `Follow up with ${who} by ${String(p['channel'])} on ${formatLocal(String(p['at']), String(p['timezone']))}${
        p['owner_id'] ? `, by ${names.person(p['owner_id'])}` : ''
      }.`;
    case 'nba.recommend':
      return `Recommend to ${p['owner_id'] ? names.person(p['owner_id']) : 'the owner'}: ${
        NBA_WORDS[String(p['action'])] ?? String(p['action'])
      } ${String(p['action']) === 'call' || String(p['action']) === 'disqualify' ? who : `for ${who}`}.`;
    case 'funnel.remediate':
      return `Remedy the ${String(p['stage'])} stage: ${String(p['remedy']).replaceAll('_', ' ')}.`;
    default:
      return `${action.type} with ${JSON.stringify(p)}`;
  }
}

/** An alternative the agent weighed, as stored ("followup.schedule:email@2026-11-25T08:00:00Z"), in words. */
export function describeAlternative(alternative: string, timeZone?: string): string {
  const colon = alternative.indexOf(':');
  const type = colon < 0 ? alternative : alternative.slice(0, colon);
  const rest = colon < 0 ? '' : alternative.slice(colon + 1);
  switch (type) {
    case 'followup.schedule': {
      const [channel, at] = rest.split('@');
      return at ? `${humanize(channel ?? '')} on ${formatLocal(at, timeZone ?? 'UTC')}` : humanize(rest);
    }
    case 'nba.recommend': {
      const words = NBA_WORDS[rest] ?? humanize(rest);
      return words.charAt(0).toUpperCase() + words.slice(1);
    }
    case 'lead.qualify':
      return `Move to ${STAGE_WORDS[rest] ?? humanize(rest)}`;
    default:
      return humanize(rest || type);
  }
}

/** A time in the contact's own time zone, as the follow-up will happen. */
export function formatLocal(iso: string, timeZone: string): string {
  try {
    return `${new Date(iso).toLocaleString('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
    })} (${timeZone})`;
  } catch {
    return iso;
  }
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function humanize(text: string): string {
  return text.replaceAll('_', ' ');
}
