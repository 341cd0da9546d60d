// One call to load a chunk's identity keys, instead of a look-up without locks and then lock_identity_keys
// (migration 0010) with the absent keys marked: the function finds the absent keys itself, under the identity-
// merge lock, locks them exclusively in the order given, and reads every key. Each round trip to the server
// costs more on these machines (about 0.3 ms of CPU, both sides) than the look-up's work. The application now
// calls only this function; lock_identity_keys stays for processes of the previous version during an upgrade.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Returns {"generation": "n", "keys": {"kind:key": entity id}}, like lock_identity_keys. Every key asked
    -- for is either in "keys" or locked exclusively by this transaction, so only it can create the key.
    -- Callers pass the keys sorted, so transactions lock them in the same order and cannot deadlock.
    create function lock_and_read_identity_keys(kinds text[], keys text[], merges_exclusive boolean)
      returns text
      language plpgsql volatile as $fn$
    declare
      absent bigint[];
      found json;
      found_count bigint;
    begin
      if merges_exclusive then
        perform pg_advisory_xact_lock(hashtextextended('funnelgate:identity-merges', 0));
      else
        perform pg_advisory_xact_lock_shared(hashtextextended('funnelgate:identity-merges', 0));
      end if;
      select coalesce(array_agg(w.n order by w.n), '{}') into absent
      from unnest(kinds, keys) with ordinality as w(kind, key, n)
      where not exists (select 1 from identity_keys ik where ik.kind = w.kind and ik.key = w.key);
      perform pg_advisory_xact_lock(hashtextextended(kinds[a.n] || ':' || keys[a.n], 0))
      from unnest(absent) with ordinality as a(n, position)
      order by a.position;
      select coalesce(json_object_agg(ik.kind || ':' || ik.key, ik.entity_id), '{}'), count(*)
        into found, found_count
      from identity_keys ik
      join unnest(kinds, keys) as w(kind, key) on ik.kind = w.kind and ik.key = w.key;
      -- Keys are never deleted, so every key that existed a moment ago (and was not locked) is found now. Were
      -- one ever gone, another transaction could create it too: fail rather than carry on.
      if found_count < cardinality(keys) - cardinality(absent) then
        raise exception 'identity keys disappeared while being read; retry'
          using errcode = '40001';
      end if;
      return json_build_object(
        'generation', (select generation::text from identity_key_generation),
        'keys', found
      )::text;
    end;
    $fn$;
  `.execute(db);
}
