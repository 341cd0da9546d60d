// Migration 0010: a generation number for what identity keys point at, so an ingesting process may remember
// existing keys' entities between transactions instead of reading every key of every chunk again.
//
// What an existing key points at changes only when identity_keys rows are updated or deleted (merges and
// unmerges); a trigger counts every such statement, whoever runs it. lock_identity_keys (migration 0009) now
// returns the generation next to the keys it read. It reads it holding the identity-merge lock, so no merge is
// in progress: a process that remembered keys at the same generation knows they still point where they did.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table identity_key_generation (
      only_row boolean primary key default true check (only_row),
      generation bigint not null
    );
    insert into identity_key_generation (generation) values (0);

    create function count_identity_key_moves() returns trigger
      language plpgsql as $fn$
    begin
      update identity_key_generation set generation = generation + 1;
      return null;
    end;
    $fn$;
    create trigger identity_keys_moved after update or delete or truncate on identity_keys
      for each statement execute function count_identity_key_moves();

    -- As in 0009, returning {"generation": "n", "keys": {"kind:key": entity id}}.
    create or replace function lock_identity_keys(kinds text[], keys text[], exclusive boolean[], merges_exclusive boolean)
      returns text
      language plpgsql volatile as $fn$
    begin
      if merges_exclusive then
        perform pg_advisory_xact_lock(hashtextextended('funnelgate:identity-merges', 0));
      else
        perform pg_advisory_xact_lock_shared(hashtextextended('funnelgate:identity-merges', 0));
      end if;
      perform pg_advisory_xact_lock(hashtextextended(x.kind || ':' || x.key, 0))
      from unnest(kinds, keys, exclusive) with ordinality as x(kind, key, ex, n)
      where x.ex
      order by x.n;
      return json_build_object(
        'generation', (select generation::text from identity_key_generation),
        'keys', (
          select coalesce(json_object_agg(ik.kind || ':' || ik.key, ik.entity_id), '{}')
          from identity_keys ik
          join unnest(kinds, keys) as w(kind, key) on ik.kind = w.kind and ik.key = w.key
        )
      )::text;
    end;
    $fn$;
  `.execute(db);
}
