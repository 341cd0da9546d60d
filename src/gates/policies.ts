// Policy versions. A change is a proposal; it becomes active only when a different policy owner approves it.
// The first start installs the shipped default policy as version 1 (audited as the system's act).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import type { Actor } from '../agents/decision-store.ts';
import { parsePolicy } from './policy.ts';

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../policies/default.yaml', import.meta.url));

export async function listPolicies(db: Db) {
  return db
    .selectFrom('policies')
    .select([
      'version',
      'status',
      'reason',
      'proposed_by',
      'proposed_at',
      'decided_by',
      'decided_at',
      'decision_reason',
    ])
    .orderBy('version', 'desc')
    .execute();
}

export async function getPolicy(db: Db, version: number) {
  const row = await db.selectFrom('policies').selectAll().where('version', '=', version).executeTakeFirst();
  if (!row) throw new AppError('not_found', `No policy version ${version}`);
  return row;
}

export async function proposePolicy(db: Db, options: { document: string; reason: string; by: Actor }) {
  const parsed = parsePolicy(options.document);
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('funnelgate:policies'))`.execute(trx);
    const last = await trx
      .selectFrom('policies')
      .select((eb) => eb.fn.max('version').as('v'))
      .executeTakeFirst();
    const version = Number(last?.v ?? 0) + 1;
    await trx
      .insertInto('policies')
      .values({
        version,
        document: options.document,
        parsed: JSON.stringify(parsed),
        status: 'proposed',
        reason: options.reason,
        proposed_by: options.by.name,
        proposed_by_id: options.by.id ?? null,
      })
      .execute();
    await appendAudit(trx, {
      actor: options.by.name,
      actorId: options.by.id ?? null,
      action: 'policy.propose',
      subjectType: 'policy',
      subjectId: String(version),
      reason: options.reason,
      after: { version, document: options.document },
    });
    return { version, status: 'proposed' as const };
  });
}

/** Approve (activate) or reject a proposed version. The proposer cannot decide on their own proposal. */
export async function decidePolicy(
  db: Db,
  options: { version: number; approve: boolean; reason: string; by: Actor },
) {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('funnelgate:policies'))`.execute(trx);
    const policy = await getPolicy(trx, options.version);
    if (policy.status !== 'proposed')
      throw new AppError('conflict', `Policy version ${options.version} is ${policy.status}, not proposed`);
    if (
      (policy.proposed_by_id && policy.proposed_by_id === options.by.id) ||
      policy.proposed_by === options.by.name
    ) {
      throw new AppError(
        'forbidden',
        `${options.by.name} proposed version ${options.version}; another policy owner must decide on it`,
      );
    }
    const previous = await trx
      .selectFrom('policies')
      .select('version')
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (options.approve && previous) {
      await trx
        .updateTable('policies')
        .set({ status: 'superseded' })
        .where('version', '=', previous.version)
        .execute();
    }
    await trx
      .updateTable('policies')
      .set({
        status: options.approve ? 'active' : 'rejected',
        decided_by: options.by.name,
        decided_by_id: options.by.id ?? null,
        decided_at: new Date(),
        decision_reason: options.reason,
      })
      .where('version', '=', options.version)
      .execute();
    await appendAudit(trx, {
      actor: options.by.name,
      actorId: options.by.id ?? null,
      action: options.approve ? 'policy.activate' : 'policy.reject',
      subjectType: 'policy',
      subjectId: String(options.version),
      reason: options.reason,
      before: { active_version: previous?.version ?? null },
      after: { active_version: options.approve ? options.version : (previous?.version ?? null) },
    });
    return {
      version: options.version,
      status: options.approve ? ('active' as const) : ('rejected' as const),
      previous_active: previous?.version ?? null,
    };
  });
}

/** First start: install the shipped default policy, so a fresh install is governed from its first proposal. */
export async function ensureDefaultPolicy(db: Db): Promise<number | null> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('funnelgate:policies'))`.execute(trx);
    const any = await trx.selectFrom('policies').select('version').limit(1).executeTakeFirst();
    if (any) return null;
    const document = readFileSync(DEFAULT_POLICY_FILE, 'utf8');
    const parsed = parsePolicy(document);
    await trx
      .insertInto('policies')
      .values({
        version: 1,
        document,
        parsed: JSON.stringify(parsed),
        status: 'active',
        reason: 'first start: the shipped default policy',
        proposed_by: 'system',
        decided_by: 'system',
        decided_at: new Date(),
        decision_reason: 'first start',
      })
      .execute();
    await appendAudit(trx, {
      actor: 'system',
      action: 'policy.activate',
      subjectType: 'policy',
      subjectId: '1',
      reason: 'first start: the shipped default policy',
      after: { active_version: 1 },
    });
    return 1;
  });
}

/** A line diff between two versions' documents (for reviewers of a policy change). */
export function diffDocuments(before: string, after: string): { op: ' ' | '-' | '+'; line: string }[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // Longest common subsequence; policy files are small.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', line: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: '-', line: a[i++]! });
    else out.push({ op: '+', line: b[j++]! });
  }
  while (i < a.length) out.push({ op: '-', line: a[i++]! });
  while (j < b.length) out.push({ op: '+', line: b[j++]! });
  return out;
}
