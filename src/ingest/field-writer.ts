// Attribute writes, gathered in memory for a chunk of events and written in a few set-based statements. Two
// rules, both independent of arrival order:
//  - 'latest' (CRM records, the system of record): the value of the most recent event wins (stamp in
//    field_times[field]).
//  - 'earliest' (what activity reveals in passing, e.g. the email an opened message went to): fills a field no
//    CRM record has set, and the earliest such event wins (stamp in field_times["~" + field]). Once an entity
//    is known, activity changes nothing, so steady-state ingestion writes no entity rows at all.
// New entities are created here too: their rows are inserted, with every value gathered so far, in one
// statement (`flushCreates`, or `takeCreates` to send them with other statements), before anything that
// references them is written.
import { sql, type RawBuilder } from 'kysely';
import { executeTogether, type Db } from '../db/database.ts';

type Table = 'contacts' | 'accounts' | 'opportunities';

export type WriteRule = 'latest' | 'earliest';

type Times = Record<string, string>;

interface Pending {
  table: Table;
  id: string;
  fields: Map<string, { value: unknown; stamp: string }>;
  /** Set while the row is yet to be inserted: the values it is created with (not stamped). */
  created?: Record<string, unknown>;
}

export interface FieldWriter {
  set(table: Table, id: string, values: Record<string, unknown>, stamp: string, rule?: WriteRule): void;
  /** A new row, inserted with `values` and the fields set on it until the next flush. */
  create(table: Table, id: string, values: Record<string, unknown>): void;
  /** Inserts the rows created so far (anything that references them by foreign key needs them first). */
  flushCreates(trx: Db): Promise<void>;
  /** The INSERTs flushCreates would run, to run them in one statement with others (executeTogether). */
  takeCreates(): RawBuilder<unknown>[];
  /** Writes everything pending; `alsoRun` goes into its last statement (one round trip fewer). */
  flush(trx: Db, alsoRun?: RawBuilder<unknown>[]): Promise<void>;
  /** The transaction that flushed has committed: what it read and wrote may be remembered. */
  committed(): void;
}

const TABLES = ['accounts', 'contacts', 'opportunities'] as const;

/**
 * Committed field times of recently written entities, per table by id. Field times only ever move one way (see
 * flush), so times that were once committed can only be more permissive than the row's times now: when a write
 * changes nothing against them, it changes nothing against the row either, and the row need not be read. Only
 * times from committed transactions are kept (see `committed`), so a rollback cannot leave a wrong entry.
 */
const committedTimes: Record<Table, Map<string, Times>> = {
  contacts: new Map(),
  accounts: new Map(),
  opportunities: new Map(),
};
const COMMITTED_TIMES_MAX = 20_000;

function rememberTimes(table: Table, id: string, times: Times): void {
  const known = committedTimes[table];
  known.delete(id);
  known.set(id, times);
  if (known.size > COMMITTED_TIMES_MAX) known.delete(known.keys().next().value!);
}

/**
 * Whether writing these fields by the 'earliest' rule at this stamp certainly changes nothing, judging by the
 * entity's committed field times (false when they are not known here): each field is either set by a CRM
 * record or was revealed by an event at least as early. Field times only move one way, so this stays true.
 * `fields` are the column names, each followed by its 'earliest' stamp name ("email", "~email", ...).
 */
export function settledEarliest(table: Table, id: string, fields: readonly string[], stamp: string): boolean {
  const times = committedTimes[table].get(id);
  if (!times) return false;
  for (let i = 0; i < fields.length; i += 2) {
    if (times[fields[i]!] !== undefined) continue;
    const was = times[fields[i + 1]!];
    if (was === undefined || stamp < was) return false;
  }
  return true;
}

/**
 * The stamp a write carries: the event's time, then its id, so two events at the same instant still give one
 * answer. Stamps compare as text.
 */
export function fieldStamp(occurredIso: string, sourceEventId: string): string {
  return `${occurredIso}#${sourceEventId}`;
}

/** The values to write and the new field times, given the row's current field times. */
function patchFor(entry: Pending, current: Times): { set: Record<string, unknown>; times: Times } {
  const times = { ...current };
  const set: Record<string, unknown> = {};
  for (const [field, { value, stamp }] of entry.fields) {
    if (field.startsWith('~')) continue;
    const was = times[field];
    if (was === undefined || stamp >= was) {
      set[field] = value;
      times[field] = stamp;
    }
  }
  for (const [field, { value, stamp }] of entry.fields) {
    if (!field.startsWith('~')) continue;
    const column = field.slice(1);
    // A CRM record's value (set now or before) outranks anything activity revealed.
    if (times[column] !== undefined) continue;
    const was = times[field];
    if (was === undefined || stamp < was) {
      set[column] = value;
      times[field] = stamp;
    }
  }
  return { set, times };
}

export function createFieldWriter(): FieldWriter {
  const pending = new Map<string, Pending>();
  /** Field times this transaction read or wrote, remembered once it commits. */
  const observed = new Map<string, { table: Table; id: string; times: Times }>();
  const entryFor = (table: Table, id: string) => {
    const key = `${table}:${id}`;
    let entry = pending.get(key);
    if (!entry) {
      entry = { table, id, fields: new Map() };
      pending.set(key, entry);
    }
    return entry;
  };

  /** The INSERTs of the rows created since the last call, one per table and set of columns; taken, not run. */
  function takeCreates(): RawBuilder<unknown>[] {
    const statements: RawBuilder<unknown>[] = [];
    const created = [...pending.values()].filter((e) => e.created);
    if (created.length === 0) return statements;
    for (const table of TABLES) {
      // Rows with the same columns go in one statement; a column a row does not name keeps its default.
      const groups = new Map<string, { id: string; field_times: Times }[]>();
      for (const entry of created) {
        if (entry.table !== table) continue;
        const { set, times } = patchFor(entry, {});
        const row = { ...entry.created, ...set, id: entry.id, field_times: times };
        observed.set(`${table}:${entry.id}`, { table, id: entry.id, times });
        const signature = Object.keys(row).sort().join(',');
        const group = groups.get(signature) ?? [];
        group.push(row);
        groups.set(signature, group);
        pending.delete(`${table}:${entry.id}`);
      }
      for (const [signature, rows] of groups) {
        const columns = signature.split(',');
        statements.push(sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
                  select ${sql.join(columns.map((c) => sql.ref(`r.${c}`)))}
                  from jsonb_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::jsonb) as r`);
      }
    }
    return statements;
  }

  /**
   * The field times of these entities, per table, in one statement; `lock` locks them (FOR NO KEY UPDATE) in a
   * fixed order: table by table (accounts, contacts, opportunities), each in the order of its ids (the lock is
   * taken as each row leaves the sort). Transactions updating overlapping sets otherwise lock them in whatever
   * order the scans find them, and deadlock.
   */
  async function readTimes(
    trx: Db,
    ids: Record<Table, string[]>,
    lock: boolean,
  ): Promise<Record<Table, Map<string, Times>>> {
    const rows = lock
      ? await sql<{ t: Table; id: string; field_times: Times | null }>`
          with a as materialized (select id, field_times from accounts where id = any(${ids.accounts}::uuid[])
                                  order by id for no key update),
               c as materialized (select id, field_times from contacts where id = any(${ids.contacts}::uuid[])
                                  order by id for no key update),
               o as materialized (select id, field_times from opportunities where id = any(${ids.opportunities}::uuid[])
                                  order by id for no key update)
          select 'accounts' as t, id, field_times from a
          union all select 'contacts', id, field_times from c
          union all select 'opportunities', id, field_times from o`.execute(trx)
      : await sql<{ t: Table; id: string; field_times: Times | null }>`
          select 'accounts' as t, id, field_times from accounts where id = any(${ids.accounts}::uuid[])
          union all select 'contacts', id, field_times from contacts where id = any(${ids.contacts}::uuid[])
          union all select 'opportunities', id, field_times from opportunities
                    where id = any(${ids.opportunities}::uuid[])`.execute(trx);
    const read: Record<Table, Map<string, Times>> = {
      accounts: new Map(),
      contacts: new Map(),
      opportunities: new Map(),
    };
    for (const row of rows.rows) read[row.t].set(row.id, row.field_times ?? {});
    return read;
  }

  /**
   * The UPDATEs of the pending writes that change something, one per table; reads (and locks) what they need.
   * Field times only move one way (a 'latest' stamp up, an 'earliest' one down), so an entity with nothing to
   * change on an unlocked read has nothing to change later either: only the others are locked and read again.
   * Each step is one statement for all three tables (round trips cost more than these reads).
   */
  async function updateStatements(trx: Db): Promise<RawBuilder<unknown>[]> {
    const statements: RawBuilder<unknown>[] = [];
    const entries = [...pending.values()];
    pending.clear();
    const candidates: Record<Table, Pending[]> = { accounts: [], contacts: [], opportunities: [] };
    for (const e of entries) {
      if (e.fields.size === 0) continue;
      const known = committedTimes[e.table].get(e.id);
      if (!known || Object.keys(patchFor(e, known).set).length > 0) candidates[e.table].push(e);
    }
    const idsOf = (byTable: Record<Table, Pending[]>) => ({
      accounts: byTable.accounts.map((e) => e.id),
      contacts: byTable.contacts.map((e) => e.id),
      opportunities: byTable.opportunities.map((e) => e.id),
    });
    if (TABLES.every((table) => candidates[table].length === 0)) return statements;
    const seen = await readTimes(trx, idsOf(candidates), false);
    const changing: Record<Table, Pending[]> = { accounts: [], contacts: [], opportunities: [] };
    for (const table of TABLES) {
      for (const [id, times] of seen[table]) observed.set(`${table}:${id}`, { table, id, times });
      changing[table] = candidates[table].filter((e) => {
        const times = seen[table].get(e.id);
        return times !== undefined && Object.keys(patchFor(e, times).set).length > 0;
      });
    }
    if (TABLES.every((table) => changing[table].length === 0)) return statements;
    const locked = await readTimes(trx, idsOf(changing), true);
    for (const table of TABLES) {
      const updates: { id: string; patch: Record<string, unknown>; times: Times }[] = [];
      const columns = new Set<string>();
      for (const entry of changing[table]) {
        const { set, times } = patchFor(entry, locked[table].get(entry.id) ?? {});
        if (Object.keys(set).length === 0) continue;
        for (const column of Object.keys(set)) columns.add(column);
        updates.push({ id: entry.id, patch: set, times });
        observed.set(`${table}:${entry.id}`, { table, id: entry.id, times });
      }
      if (updates.length === 0) continue;
      const names = [...columns];
      // One statement for all rows: each row's patch overrides its current values, column by column. The ids
      // again as an array give the planner an index condition: joined only on the set's ids, it hashed the whole
      // table for a few dozen rows (3x slower on 5,000 contacts, and worse as the table grows).
      statements.push(sql`update ${sql.table(table)} as t
                set (${sql.join(names.map((c) => sql.ref(c)))}) =
                    (select ${sql.join(names.map((c) => sql.ref(`r.${c}`)))} from jsonb_populate_record(t, x.patch) as r),
                    field_times = x.times, updated_at = now()
                from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as x(id uuid, patch jsonb, times jsonb)
                where t.id = x.id and t.id = any(${updates.map((u) => u.id)}::uuid[])`);
    }
    return statements;
  }

  return {
    set(table, id, values, stamp, rule = 'latest') {
      const entry = entryFor(table, id);
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) continue;
        const field = rule === 'latest' ? name : `~${name}`;
        const current = entry.fields.get(field);
        if (!current || (rule === 'latest' ? stamp >= current.stamp : stamp < current.stamp))
          entry.fields.set(field, { value, stamp });
      }
    },
    create(table, id, values) {
      entryFor(table, id).created = values;
    },
    takeCreates,
    async flushCreates(trx) {
      await executeTogether(trx, takeCreates());
    },
    committed() {
      for (const { table, id, times } of observed.values()) rememberTimes(table, id, times);
      observed.clear();
    },
    async flush(trx, alsoRun = []) {
      // Rows created and rows updated go in one statement (foreign keys are checked at its end).
      const creates = takeCreates();
      await executeTogether(trx, [...creates, ...(await updateStatements(trx)), ...alsoRun]);
    },
  };
}
