// Who reviews a proposal: people with the required role, weighted by how much they already have pending
// against their capacity, preferring those whose skills match the action or the segment; ties go round robin
// (whoever was assigned least recently).
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export async function chooseReviewer(
  db: Db,
  options: { role: string; skills: string[]; exclude?: string[] },
): Promise<string | null> {
  const result = await sql<{ id: string }>`
    with candidates as (
      select u.id, u.capacity, u.skills,
             (select count(*) from decisions d where d.assigned_to = u.id and d.status = 'pending_review') as load,
             (select max(d.created_at) from decisions d where d.assigned_to = u.id) as last_assigned
      from users u
      where u.active and ${options.role} = any(u.roles) and u.kind = 'human'
        and not (u.id = any(${options.exclude ?? []}::uuid[]))
    )
    select id from candidates
    where load < greatest(capacity, 1)
    order by (cardinality(array(select unnest(skills) intersect select unnest(${options.skills}::text[])))) desc,
             load::float8 / greatest(capacity, 1) asc,
             last_assigned asc nulls first,
             id
    limit 1`.execute(db);
  return result.rows[0]?.id ?? null;
}
