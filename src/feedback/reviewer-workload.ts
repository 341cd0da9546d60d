// Reviewer workload and rubber-stamp signals. Workload: items decided per day, time to decide, what waits in
// each inbox and for how long. Rubber-stamping shows as approvals much faster than the reviewer's own median,
// and as approving nearly everything of a kind that other reviewers often reject.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** An approval faster than this share of the reviewer's own median time is "much faster". */
export const FAST_SHARE_OF_MEDIAN = 0.25;
/** Flag a reviewer when at least this share of their approvals (of at least MIN_ITEMS) is that fast. */
export const FAST_FLAG_SHARE = 0.3;
/** A kind of item (agent + action) others reject at least this often is "often rejected". */
export const CONTESTED_REJECT_RATE = 0.3;
/** ... and a reviewer approving at least this share of them (of at least MIN_ITEMS) is flagged. */
export const CONTESTED_APPROVAL_FLAG = 0.95;
export const MIN_ITEMS = 10;

export interface ReviewerWorkload {
  reviewer_id: string;
  reviewer: string;
  items: number;
  items_per_day: number;
  median_seconds_to_decide: number | null;
  approval_rate: number | null;
  fast_approvals: number;
  fast_approval_share: number | null;
  contested_items: number;
  contested_approval_rate: number | null;
  queue: number;
  queue_oldest_seconds: number | null;
  flags: string[];
}

export async function reviewerWorkload(
  db: Db,
  options: { from: Date; to: Date; now?: Date },
): Promise<ReviewerWorkload[]> {
  const now = options.now ?? new Date();
  const days = Math.max(1, (options.to.getTime() - options.from.getTime()) / 86_400_000);
  const rows = await sql<{
    reviewer_id: string;
    reviewer: string;
    items: string;
    median_s: number | null;
    approvals: string;
    fast: string;
    contested: string;
    contested_approved: string;
  }>`
    with scoped as (
      select r.*, d.agent || ' ' || d.action_type as kind
      from reviews r join decisions d on d.id = r.decision_id
      where r.at >= ${options.from} and r.at < ${options.to}
    ),
    medians as (
      select reviewer_id, percentile_cont(0.5) within group (order by seconds_to_decide) as median_s
      from scoped where seconds_to_decide is not null group by reviewer_id
    ),
    -- Per reviewer and kind: how often the other reviewers reject it.
    others as (
      select me.reviewer_id, k.kind,
             count(*) filter (where s.verdict = 'reject')::double precision / nullif(count(*), 0) as others_reject,
             count(*) as others_n
      from (select distinct reviewer_id from scoped) me
      cross join (select distinct kind from scoped) k
      join scoped s on s.kind = k.kind and s.reviewer_id <> me.reviewer_id
      group by me.reviewer_id, k.kind
    )
    select s.reviewer_id, min(s.reviewer) as reviewer, count(*) as items, m.median_s,
           count(*) filter (where s.verdict = 'approve') as approvals,
           count(*) filter (where s.verdict = 'approve' and s.seconds_to_decide < ${FAST_SHARE_OF_MEDIAN} * m.median_s) as fast,
           count(*) filter (where o.others_reject >= ${CONTESTED_REJECT_RATE} and o.others_n >= ${MIN_ITEMS}) as contested,
           count(*) filter (where o.others_reject >= ${CONTESTED_REJECT_RATE} and o.others_n >= ${MIN_ITEMS}
                            and s.verdict = 'approve') as contested_approved
    from scoped s
    left join medians m on m.reviewer_id = s.reviewer_id
    left join others o on o.reviewer_id = s.reviewer_id and o.kind = s.kind
    group by s.reviewer_id, m.median_s`.execute(db);
  const queues = await sql<{ assigned_to: string; n: string; oldest: Date; name: string }>`
    select d.assigned_to, count(*) as n, min(d.created_at) as oldest, min(u.email) as name
    from decisions d join users u on u.id = d.assigned_to
    where d.status = 'pending_review' group by d.assigned_to`.execute(db);
  const queueOf = new Map(queues.rows.map((q) => [q.assigned_to, q]));
  const result = rows.rows.map((r): ReviewerWorkload => {
    const items = Number(r.items);
    const approvals = Number(r.approvals);
    const fast = Number(r.fast);
    const contested = Number(r.contested);
    const contestedApproved = Number(r.contested_approved);
    const queue = queueOf.get(r.reviewer_id);
    queueOf.delete(r.reviewer_id);
    const flags: string[] = [];
    if (approvals >= MIN_ITEMS && fast / approvals >= FAST_FLAG_SHARE) flags.push('fast_approvals');
    if (contested >= MIN_ITEMS && contestedApproved / contested >= CONTESTED_APPROVAL_FLAG)
      flags.push('approves_what_others_reject');
    return {
      reviewer_id: r.reviewer_id,
      reviewer: r.reviewer,
      items,
      items_per_day: Math.round((items / days) * 100) / 100,
      median_seconds_to_decide: r.median_s === null ? null : Math.round(Number(r.median_s) * 10) / 10,
      approval_rate: items ? approvals / items : null,
      fast_approvals: fast,
      fast_approval_share: approvals ? fast / approvals : null,
      contested_items: contested,
      contested_approval_rate: contested ? contestedApproved / contested : null,
      queue: Number(queue?.n ?? 0),
      queue_oldest_seconds: queue
        ? Math.round((now.getTime() - new Date(queue.oldest).getTime()) / 1000)
        : null,
      flags,
    };
  });
  // People with a queue but no verdicts in the range.
  for (const q of queueOf.values())
    result.push({
      reviewer_id: q.assigned_to,
      reviewer: q.name,
      items: 0,
      items_per_day: 0,
      median_seconds_to_decide: null,
      approval_rate: null,
      fast_approvals: 0,
      fast_approval_share: null,
      contested_items: 0,
      contested_approval_rate: null,
      queue: Number(q.n),
      queue_oldest_seconds: Math.round((now.getTime() - new Date(q.oldest).getTime()) / 1000),
      flags: [],
    });
  return result.sort((a, b) => b.items - a.items || a.reviewer.localeCompare(b.reviewer));
}
