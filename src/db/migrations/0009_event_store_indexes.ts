// The event store's write path, trimmed. Ingestion inserts every event, so whatever `events` checks or indexes
// is paid on every insert: measured on 1,000-event chunks, the four foreign-key checks alone cost as much as
// the rest of the insert (each is a `SELECT ... FOR KEY SHARE` on the referenced row, per event).
//  - The foreign keys go. Ingestion writes the contact, account, opportunity and batch an event points at in
//    the same transaction as the event; those rows are never deleted (contacts and accounts are merged, which
//    leaves the merged row in place pointing at the survivor); and `test/ingest` checks that no event points at
//    a missing row after concurrent ingestion, merges and unmerges.
//  - Identity keys are searched only on events still waiting for their contact (a visitor id that later turns
//    up with an email); undoing a merge finds its events by contact first. So the key index covers only
//    unattributed events, and the separate index of unattributed events, which nothing reads, goes.
//  - Identity keys: one lock against merges instead of a shared lock per known key (a chunk of 2,000 events
//    held about 2,000, at some 3.5 µs each to take and release), and locking and reading them again is one
//    call instead of two round trips (lock_identity_keys).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table events
      drop constraint events_contact_id_fkey,
      drop constraint events_account_id_fkey,
      drop constraint events_opportunity_id_fkey,
      drop constraint events_batch_id_fkey;
    drop index events_contact_keys_gin;
    create index events_waiting_contact_keys_gin on events using gin (contact_keys) where contact_id is null;
    drop index events_unattributed_idx;

    -- Identity keys, locked for a chunk of events and read back in one call. Keys are never deleted, and what
    -- an existing key points at changes only in a merge or an unmerge; those hold one lock, the identity-merge
    -- lock, exclusively, while every chunk holds it shared (merges_exclusive = false). So a chunk can read
    -- existing keys without a lock of their own: no merge can move them before it commits. A key that does not
    -- exist yet is locked exclusively (exclusive = true), so only one transaction creates its entity; such keys
    -- are locked in the order given, so callers that sort them cannot deadlock each other. The read is a
    -- statement of its own in a volatile function, so it sees what the lock holders committed while we waited.
    create function lock_identity_keys(kinds text[], keys text[], exclusive boolean[], merges_exclusive boolean)
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
      -- One JSON object {"kind:key": entity id} rather than a row per key: cheaper to read for the caller.
      return (
        select coalesce(json_object_agg(ik.kind || ':' || ik.key, ik.entity_id), '{}')::text
        from identity_keys ik
        join unnest(kinds, keys) as w(kind, key) on ik.kind = w.kind and ik.key = w.key
      );
    end;
    $fn$;
  `.execute(db);
}
