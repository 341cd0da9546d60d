// Attribute writes, gathered in memory for a chunk of events and written once per entity. Two rules, both
// independent of arrival order:
//  - 'latest' (CRM records, the system of record): the value of the most recent event wins (stamp in
//    field_times[field]).
//  - 'earliest' (what activity reveals in passing, e.g. the email an opened message went to): fills a field no
//    CRM record has set, and the earliest such event wins (stamp in field_times["~" + field]). Once an entity
//    is known, activity changes nothing, so steady-state ingestion writes no entity rows at all.
import type { Db } from '../db/database.ts';

type Table = 'contacts' | 'accounts' | 'opportunities';

export type WriteRule = 'latest' | 'earliest';

interface Pending {
  table: Table;
  id: string;
  fields: Map<string, { value: unknown; stamp: string }>;
}

export interface FieldWriter {
  set(table: Table, id: string, values: Record<string, unknown>, stamp: string, rule?: WriteRule): void;
  flush(trx: Db): Promise<void>;
}

export function createFieldWriter(): FieldWriter {
  const pending = new Map<string, Pending>();
  return {
    set(table, id, values, stamp, rule = 'latest') {
      const key = `${table}:${id}`;
      let entry = pending.get(key);
      if (!entry) {
        entry = { table, id, fields: new Map() };
        pending.set(key, entry);
      }
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) continue;
        const field = rule === 'latest' ? name : `~${name}`;
        const current = entry.fields.get(field);
        if (!current || (rule === 'latest' ? stamp >= current.stamp : stamp < current.stamp))
          entry.fields.set(field, { value, stamp });
      }
    },
    async flush(trx) {
      if (pending.size === 0) return;
      const entries = [...pending.values()];
      pending.clear();
      for (const table of ['accounts', 'contacts', 'opportunities'] as const) {
        const forTable = entries.filter((e) => e.table === table);
        if (forTable.length === 0) continue;
        const rows = await trx
          .selectFrom(table)
          .select(['id', 'field_times'])
          .where(
            'id',
            'in',
            forTable.map((e) => e.id),
          )
          .forUpdate()
          .execute();
        const timesById = new Map(rows.map((r) => [r.id, r.field_times ?? {}]));
        for (const entry of forTable) {
          const times = { ...(timesById.get(entry.id) ?? {}) };
          const set: Record<string, unknown> = {};
          for (const [field, { value, stamp }] of entry.fields) {
            if (field.startsWith('~')) continue;
            const current = times[field];
            if (current === undefined || stamp >= current) {
              set[field] = value;
              times[field] = stamp;
            }
          }
          for (const [field, { value, stamp }] of entry.fields) {
            if (!field.startsWith('~')) continue;
            const column = field.slice(1);
            // A CRM record's value (set now or before) outranks anything activity revealed.
            if (times[column] !== undefined) continue;
            const current = times[field];
            if (current === undefined || stamp < current) {
              set[column] = value;
              times[field] = stamp;
            }
          }
          if (Object.keys(set).length === 0) continue;
          await trx
            .updateTable(table)
            .set({ ...set, field_times: JSON.stringify(times), updated_at: new Date() })
            .where('id', '=', entry.id)
            .execute();
        }
      }
    },
  };
}
