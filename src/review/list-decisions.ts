// The review inbox and every other list of decisions: filtered, sorted, cursor-paginated. The cursor carries the
// sort value and the id of the last row (keyset pagination: stable while rows are added or change state).
import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { DecisionState } from '../domain/decision-state.ts';
import { AppError } from '../errors.ts';
import { approvalsGivenSql, type DecisionRow } from './review-repository.ts';

export interface DecisionFilter {
  ids?: string[];
  status?: DecisionState;
  agent?: string;
  action_type?: string;
  subject_type?: 'contact' | 'account' | 'opportunity' | 'bottleneck';
  subject_id?: string;
  assigned_to?: string;
  confidence_min?: number;
  confidence_max?: number;
  risk_min?: number;
  risk_max?: number;
  expected_value_min?: number;
  expected_value_max?: number;
  due_before?: Date;
  created_after?: Date;
  created_before?: Date;
}

/** `-` first: descending. Rows without the value (no deadline, no expected value) come last either way. */
export const DECISION_SORTS = [
  'due',
  '-due',
  'created',
  '-created',
  'confidence',
  '-confidence',
  'expected_value',
  '-expected_value',
  'risk',
  '-risk',
] as const;
export type DecisionSort = (typeof DECISION_SORTS)[number];

const SORT_COLUMNS = {
  due: { column: 'deadline_at', type: 'timestamptz' },
  created: { column: 'created_at', type: 'timestamptz' },
  confidence: { column: 'confidence', type: 'float8' },
  expected_value: { column: 'expected_value', type: 'float8' },
  risk: { column: 'risk', type: 'float8' },
} as const;

export type DecisionListRow = DecisionRow & {
  approvals_given: number;
  sort_key: string | null;
  subject_name: string | null;
};

/** What a person calls the subject (a contact's name or email, an account's or opportunity's name), so a list reads
 * "Move Chloe Haddad to nurture" rather than an id. */
const subjectNameSql = sql<string | null>`case decisions.subject_type
  when 'contact' then (select coalesce(nullif(trim(concat_ws(' ', c.first_name, c.last_name)), ''), c.email)
                       from contacts c where c.id = decisions.subject_id)
  when 'account' then (select a.name from accounts a where a.id = decisions.subject_id)
  when 'opportunity' then (select o.name from opportunities o where o.id = decisions.subject_id)
  end`;

export async function listDecisions(
  db: Db,
  options: { filter: DecisionFilter; sort?: DecisionSort; limit: number; cursor?: string },
): Promise<{ items: DecisionListRow[]; next_cursor: string | null }> {
  const sort = options.sort ?? '-created';
  const descending = sort.startsWith('-');
  const { column, type } = SORT_COLUMNS[sort.replace(/^-/, '') as keyof typeof SORT_COLUMNS];
  const col = sql.ref(`decisions.${column}`);
  const cast = sql.raw(type);

  let query = db
    .selectFrom('decisions')
    .selectAll('decisions')
    .select([
      approvalsGivenSql.as('approvals_given'),
      sql<string | null>`${col}::text`.as('sort_key'),
      subjectNameSql.as('subject_name'),
    ]);
  for (const condition of filterConditions(options.filter)) query = query.where(condition);
  if (options.cursor) {
    const after = decodeCursor(options.cursor, sort);
    const v = after.value;
    const beyond = descending ? sql`${col} < ${v}::${cast}` : sql`${col} > ${v}::${cast}`;
    query = query.where(
      v === null
        ? sql<boolean>`(${col} is null and decisions.id > ${after.id}::uuid)`
        : sql<boolean>`(${beyond} or (${col} = ${v}::${cast} and decisions.id > ${after.id}::uuid) or ${col} is null)`,
    );
  }
  const rows = (await query
    .orderBy(sql`${col} ${sql.raw(descending ? 'desc' : 'asc')} nulls last`)
    .orderBy('decisions.id')
    .limit(options.limit + 1)
    .execute()) as DecisionListRow[];
  const items = rows.slice(0, options.limit);
  const last = items.at(-1);
  return {
    items,
    next_cursor: rows.length > options.limit && last ? encodeCursor(sort, last.sort_key, last.id) : null,
  };
}

/** The filter as SQL conditions; also used by bulk review to pick its decisions. */
export function filterConditions(filter: DecisionFilter): RawBuilder<boolean>[] {
  const c: RawBuilder<boolean>[] = [];
  if (filter.ids) c.push(sql<boolean>`decisions.id = any(${filter.ids}::uuid[])`);
  if (filter.status) c.push(sql<boolean>`decisions.status = ${filter.status}`);
  if (filter.agent) c.push(sql<boolean>`decisions.agent = ${filter.agent}`);
  if (filter.action_type) c.push(sql<boolean>`decisions.action_type = ${filter.action_type}`);
  if (filter.subject_type) c.push(sql<boolean>`decisions.subject_type = ${filter.subject_type}`);
  if (filter.subject_id) c.push(sql<boolean>`decisions.subject_id = ${filter.subject_id}::uuid`);
  if (filter.assigned_to) c.push(sql<boolean>`decisions.assigned_to = ${filter.assigned_to}::uuid`);
  const range = (column: string, min?: number, max?: number) => {
    if (min !== undefined) c.push(sql<boolean>`${sql.ref(`decisions.${column}`)} >= ${min}`);
    if (max !== undefined) c.push(sql<boolean>`${sql.ref(`decisions.${column}`)} <= ${max}`);
  };
  range('confidence', filter.confidence_min, filter.confidence_max);
  range('risk', filter.risk_min, filter.risk_max);
  range('expected_value', filter.expected_value_min, filter.expected_value_max);
  if (filter.due_before) c.push(sql<boolean>`decisions.deadline_at < ${filter.due_before}`);
  if (filter.created_after) c.push(sql<boolean>`decisions.created_at >= ${filter.created_after}`);
  if (filter.created_before) c.push(sql<boolean>`decisions.created_at < ${filter.created_before}`);
  return c;
}

function encodeCursor(sort: DecisionSort, value: string | null, id: string): string {
  return Buffer.from(JSON.stringify([sort, value, id])).toString('base64url');
}

const cursorSchema = z.tuple([z.string(), z.string().nullable(), z.uuid()]);

function decodeCursor(cursor: string, sort: DecisionSort): { value: string | null; id: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    raw = null;
  }
  const parsed = cursorSchema.safeParse(raw);
  if (!parsed.success)
    throw new AppError('validation_failed', 'cursor is not one this API returned', {
      fields: [{ field: 'querystring.cursor', message: 'unknown cursor' }],
    });
  const [cursorSort, value, id] = parsed.data;
  if (cursorSort !== sort)
    throw new AppError('validation_failed', `cursor belongs to sort=${cursorSort}, not sort=${sort}`, {
      fields: [{ field: 'querystring.cursor', message: 'sort changed; start again without a cursor' }],
    });
  return { value, id };
}
