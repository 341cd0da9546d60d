// Identity resolution against the database: keys -> canonical contact / account, merges and unmerges.
// Runs inside the caller's transaction. Advisory locks on new keys serialise concurrent ingesters that see the
// same new person at once (two NATS consumers, say), so neither creates a duplicate; one identity-merge lock,
// shared by ingestion and exclusive for merges and unmerges, keeps what existing keys point at still meanwhile.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { IdentityKind } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import type { FieldWriter } from './field-writer.ts';

type MergeableKind = 'contact' | 'account';

/**
 * What a transaction knows about identity keys: "kind:key" -> entity id, or "" for a key known to be absent
 * (looked up under its lock). New keys are queued and written in one statement; merges flush them first.
 */
export interface IdentityCache {
  ids: Map<string, string>;
  pendingKeys: { kind: IdentityKind; key: string; entity_id: string }[];
  /** Keys this process has seen committed in this database (see CommittedKeys), if the caller keeps them. */
  committed?: CommittedKeys;
  /** The generation of identity_keys this transaction read (see CommittedKeys). */
  generation?: string;
  /** Names read from the database (not taken from CommittedKeys): what CommittedKeys may learn at commit. */
  read: string[];
  /** Counts changes to what keys point at (keys attached, entities merged), so callers can tell nothing moved. */
  changes: number;
  /**
   * Whether this transaction holds the identity-merge lock exclusively (see lock_and_read_identity_keys, migration 0011).
   * Only then may it merge; otherwise a merge throws MergeNeedsExclusiveLock and the caller retries in this mode.
   */
  mergesExclusive: boolean;
}

/**
 * A merge was found necessary in a transaction that holds the identity-merge lock only in shared mode. Upgrading
 * the lock there could deadlock with the other holders, so the transaction is rolled back and retried holding
 * it exclusively from its start (ingestCloudEvents does this).
 */
export class MergeNeedsExclusiveLock extends Error {
  constructor() {
    super('an identity merge needs the merge lock to itself; retry the transaction holding it exclusively');
  }
}

/** Takes the identity-merge lock exclusively: for an unmerge, or any change of what existing keys point at. */
export async function lockIdentityMerges(trx: Db): Promise<void> {
  await readKeys(trx, [], true);
}

/**
 * What identity keys pointed at in transactions of this process that committed, in one database: "kind:key" ->
 * entity id, valid as of one generation of identity_keys (migration 0010). Keys are never deleted and only a
 * merge or an unmerge changes what an existing key points at, which moves the generation on; so while a
 * transaction reads the same generation (under the identity-merge lock, so no merge is under way), every entry
 * here is still true and the key needs neither a read nor a lock of its own. A transaction that reads another
 * generation starts the memory afresh. Bounded; a key that fell out is read again.
 */
export class CommittedKeys {
  private ids = new Map<string, string>();
  /** The generation the entries are true at; undefined until a transaction has read one. */
  generation: string | undefined;
  private readonly max: number;
  constructor(max = 50_000) {
    this.max = max;
  }
  get(name: string): string | undefined {
    return this.ids.get(name);
  }
  /** A transaction read `generation`: entries of any other generation can no longer be trusted. */
  observe(generation: string): void {
    if (generation === this.generation) return;
    this.ids = new Map();
    this.generation = generation;
  }
  /** A transaction whose cache this is has committed: what its keys point at is true at its generation. */
  add(cache: IdentityCache): void {
    // A merging transaction moved the generation on itself; one that read another generation than the one
    // remembered now knows nothing the memory can use.
    if (cache.mergesExclusive || cache.generation === undefined || cache.generation !== this.generation)
      return;
    for (const name of cache.read) {
      const id = cache.ids.get(name);
      if (id) this.ids.set(name, id);
    }
    // First seen, first dropped: cheaper than keeping the order of use, and a dropped key is only read again.
    for (const name of this.ids.keys()) {
      if (this.ids.size <= this.max) break;
      this.ids.delete(name);
    }
  }
}

export function createIdentityCache(committed?: CommittedKeys, mergesExclusive = false): IdentityCache {
  return {
    ids: new Map(),
    pendingKeys: [],
    read: [],
    changes: 0,
    mergesExclusive,
    ...(committed ? { committed } : {}),
  };
}

export async function flushIdentityKeys(trx: Db, cache: IdentityCache): Promise<void> {
  const statement = takeIdentityKeys(cache);
  if (statement) await statement.execute(trx);
}

/** The INSERT of the keys queued so far (taken: the caller runs it, alone or with others), if any. */
export function takeIdentityKeys(cache: IdentityCache): RawBuilder<unknown> | undefined {
  if (cache.pendingKeys.length === 0) return undefined;
  const rows = cache.pendingKeys.splice(0);
  // Three array parameters rather than three per key: a chunk of new people brings thousands of keys, and a
  // VALUES list of that many parameters cost more to build, send and parse than to insert.
  return sql`
    insert into identity_keys (kind, key, entity_id)
    select * from unnest(${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.key)}::text[],
                         ${rows.map((r) => r.entity_id)}::uuid[])
    on conflict (kind, key) do nothing`;
}

/**
 * Loads keys into the cache, under the identity-merge lock (shared, or exclusive when cache.mergesExclusive): an
 * existing key needs no lock of its own, since only a merge or unmerge can change what it points at; a key that
 * does not exist yet is locked exclusively, so only one transaction can create its entity. Keys the process
 * remembers from committed transactions (CommittedKeys) are not read again while the generation of identity
 * keys is the one they were remembered at; the others are found, the absent ones locked, and all read in one
 * call (lock_and_read_identity_keys, migration 0011).
 */
export async function prefetchIdentityKeys(
  trx: Db,
  cache: IdentityCache,
  wanted: { kind: IdentityKind; key: string }[],
): Promise<void> {
  await prefetchIdentityNames(
    trx,
    cache,
    wanted.map((w) => `${w.kind}:${w.key}`),
  );
}

/** prefetchIdentityKeys for keys already named as the cache names them ("kind:key"). */
export async function prefetchIdentityNames(trx: Db, cache: IdentityCache, names: string[]): Promise<void> {
  const plan = planKeyRead(cache, names);
  if (!plan) return;
  await applyKeyRead(trx, cache, plan, await readKeys(trx, plan.unsure, cache.mergesExclusive));
}

/** The keys a transaction is about to read: those the process remembers, and the others, sorted. */
export interface KeyRead {
  remembered: string[];
  unsure: string[];
  rememberedAt: string | undefined;
}

/**
 * What must be read of `names` (null: nothing, every one is in the cache already). Keys taken from the memory of
 * committed transactions go straight into the cache (one map operation fewer per key, and repeats of a key stop at
 * the first look-up); applyKeyRead reads them again if the generation moved. The rest is read by the SQL
 * expression keyReadExpression gives, which a caller may put into a statement it sends anyway.
 */
export function planKeyRead(cache: IdentityCache, names: string[]): KeyRead | null {
  // A merging transaction changes the generation itself, so it reads every key.
  const memory = cache.mergesExclusive ? undefined : cache.committed;
  const remembered: string[] = [];
  const unsureSet = new Set<string>();
  for (const k of names) {
    if (cache.ids.has(k)) continue;
    const id = memory?.get(k);
    if (id) {
      cache.ids.set(k, id);
      remembered.push(k);
    } else unsureSet.add(k);
  }
  if (remembered.length === 0 && unsureSet.size === 0) return null;
  // Sorted, so transactions lock new keys in the same order and cannot deadlock each other.
  return { remembered, unsure: [...unsureSet].sort(), rememberedAt: memory?.generation };
}

/** The call that locks and reads a plan's unsure keys (migration 0011); its value goes to applyKeyRead. */
export function keyReadExpression(plan: KeyRead, cache: IdentityCache): RawBuilder<string> {
  return keysCall(plan.unsure, cache.mergesExclusive);
}

/**
 * lock_and_read_identity_keys (migration 0011): takes the identity-merge lock (shared, or exclusive), locks the
 * absent keys of `names` (sorted) exclusively, and reads every one.
 */
function keysCall(names: string[], mergesExclusive: boolean): RawBuilder<string> {
  const parts = names.map(splitName);
  return sql<string>`lock_and_read_identity_keys(${parts.map((p) => p[0])}::text[], ${parts.map((p) => p[1])}::text[],
                                                 ${mergesExclusive})`;
}

async function readKeys(trx: Db, names: string[], mergesExclusive: boolean): Promise<string> {
  const result = await sql<{ read: string }>`select ${keysCall(names, mergesExclusive)} as read`.execute(trx);
  return result.rows[0]!.read;
}

/** Puts what keyReadExpression read into the cache; reads the remembered keys again if they may have moved. */
export async function applyKeyRead(
  trx: Db,
  cache: IdentityCache,
  plan: KeyRead,
  readJson: string,
): Promise<void> {
  const read = parseKeyRead(readJson);
  cache.generation = read.generation;
  const found = read.ids;
  const { remembered, unsure } = plan;
  if (remembered.length > 0 && read.generation !== plan.rememberedAt) {
    // Keys moved since they were remembered: read them again (the merge lock is held now); the cache entries
    // they were given by planKeyRead are overwritten below. They existed, and keys are never deleted.
    const again = parseKeyRead(await readKeys(trx, remembered, cache.mergesExclusive));
    for (const [k, id] of again.ids) found.set(k, id);
    unsure.push(...remembered);
  }
  const memory = cache.mergesExclusive ? undefined : cache.committed;
  memory?.observe(read.generation);
  for (const k of unsure) cache.ids.set(k, found.get(k) ?? '');
  cache.read.push(...unsure);
}

function splitName(name: string): [IdentityKind, string] {
  const at = name.indexOf(':');
  return [name.slice(0, at) as IdentityKind, name.slice(at + 1)];
}

function parseKeyRead(json: string): { generation: string; ids: Map<string, string> } {
  const read = JSON.parse(json) as { generation: string; keys: Record<string, string> };
  return { generation: read.generation, ids: new Map(Object.entries(read.keys)) };
}

export interface ResolveOptions {
  /** Create the entity when no key matches; the callback inserts the row and returns its id. */
  create?: () => Promise<string>;
  evidence: Record<string, unknown>;
  cache?: IdentityCache;
  /** Pending attribute writes, flushed before a merge reads the rows it combines. */
  writer?: FieldWriter;
}

/**
 * Returns the entity the keys identify (creating it when allowed), attaching all keys to it. When the keys
 * point at several entities, they are merged into the oldest. Returns null when nothing matches and creation
 * is not allowed (e.g. a visitor id alone).
 */
export async function resolveIdentity(
  trx: Db,
  kind: IdentityKind,
  keys: string[],
  options: ResolveOptions,
): Promise<string | null> {
  if (keys.length === 0) return options.create ? options.create() : null;
  // The common case, most events of a chunk: every key already known (locked and loaded with the chunk) and
  // pointing at one entity. Nothing to create, merge or attach.
  if (options.cache) {
    const first = options.cache.ids.get(`${kind}:${keys[0]}`);
    if (first && keys.every((key) => options.cache!.ids.get(`${kind}:${key}`) === first)) return first;
  }
  const cache = options.cache ?? createIdentityCache();
  await prefetchIdentityKeys(
    trx,
    cache,
    keys.map((key) => ({ kind, key })),
  );
  let rows = keys
    .map((key) => ({ key, entity_id: cache.ids.get(`${kind}:${key}`) ?? '' }))
    .filter((r) => r.entity_id !== '');
  let entityIds = [...new Set(rows.map((r) => r.entity_id))];
  let entityId: string | null;
  if (entityIds.length === 0) {
    if (!options.create) return null;
    entityId = await options.create();
  } else if (entityIds.length === 1 || kind === 'opportunity') {
    entityId = entityIds[0]!;
  } else {
    // Nobody else changes what keys point at while this transaction holds the merge lock exclusively; without
    // it, the transaction starts again holding it (see MergeNeedsExclusiveLock).
    if (!cache.mergesExclusive) throw new MergeNeedsExclusiveLock();
    await options.writer?.flush(trx);
    await flushIdentityKeys(trx, cache);
    rows = keys
      .map((key) => ({ key, entity_id: cache.ids.get(`${kind}:${key}`) ?? '' }))
      .filter((r) => r.entity_id !== '');
    entityIds = await oldestFirst(trx, kind, [...new Set(rows.map((r) => r.entity_id))]);
    entityId = entityIds[0]!;
    for (const mergedId of entityIds.slice(1)) {
      await mergeEntities(trx, kind, entityId, mergedId, {
        ...options.evidence,
        keys: rows.filter((r) => r.entity_id === mergedId || r.entity_id === entityId).map((r) => r.key),
      });
      for (const [key, id] of cache.ids) if (id === mergedId) cache.ids.set(key, entityId);
      cache.changes++;
    }
  }
  const newKeys = keys.filter((k) => cache.ids.get(`${kind}:${k}`) === '');
  if (newKeys.length > 0) {
    cache.changes++;
    for (const key of newKeys) {
      cache.ids.set(`${kind}:${key}`, entityId);
      cache.pendingKeys.push({ kind, key, entity_id: entityId });
    }
    // A visitor id that is new to this contact may have been seen before on events nobody could attribute
    // then (page views before the form fill): those events now belong here. Strong keys (CRM id, email,
    // phone) always create their contact, so only visitor ids can have waiting events.
    const weakKeys = newKeys.filter((k) => k.startsWith('anon:'));
    if (kind === 'contact' && weakKeys.length > 0) {
      // The contact may be new: its row must exist before events point at it.
      await options.writer?.flushCreates(trx);
      await sql`update events set contact_id = ${entityId}
                where contact_id is null and contact_keys && ${weakKeys}::text[]`.execute(trx);
    }
  }
  if (!options.cache) await flushIdentityKeys(trx, cache);
  return entityId;
}

async function oldestFirst(trx: Db, kind: IdentityKind, ids: string[]): Promise<string[]> {
  const table = kind === 'contact' ? 'contacts' : 'accounts';
  const rows = await trx
    .selectFrom(table)
    .select(['id', 'created_at'])
    .where('id', 'in', ids)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

const CONTACT_FIELDS = [
  'account_id',
  'email',
  'phone',
  'first_name',
  'last_name',
  'title',
  'seniority',
  'department',
  'lifecycle_stage',
  'owner_id',
  'timezone',
  'country',
] as const;
const ACCOUNT_FIELDS = [
  'domain',
  'name',
  'industry',
  'employees',
  'size_band',
  'annual_revenue',
  'region',
  'country',
  'tier',
  'parent_id',
  'owner_id',
  'territory_id',
] as const;

/** Merges `mergedId` into `survivorId`: keys, events, history and references move; the merged row stays, pointing at the survivor. */
export async function mergeEntities(
  trx: Db,
  kind: IdentityKind,
  survivorId: string,
  mergedId: string,
  evidence: Record<string, unknown>,
): Promise<void> {
  if (kind === 'opportunity' || survivorId === mergedId) return;
  const moved = await trx
    .updateTable('identity_keys')
    .set({ entity_id: survivorId })
    .where('kind', '=', kind)
    .where('entity_id', '=', mergedId)
    .returning('key')
    .execute();
  if (kind === 'contact') {
    const [survivor, merged] = await Promise.all([
      trx.selectFrom('contacts').selectAll().where('id', '=', survivorId).executeTakeFirstOrThrow(),
      trx.selectFrom('contacts').selectAll().where('id', '=', mergedId).executeTakeFirstOrThrow(),
    ]);
    await trx
      .updateTable('contacts')
      .set({ merged_into_id: survivorId, updated_at: new Date() })
      .where('id', '=', mergedId)
      .execute();
    await trx
      .updateTable('contacts')
      .set({ merged_into_id: survivorId })
      .where('merged_into_id', '=', mergedId)
      .execute();
    await trx
      .updateTable('contacts')
      .set(combine(survivor, merged, CONTACT_FIELDS))
      .where('id', '=', survivorId)
      .execute();
    await trx
      .updateTable('events')
      .set({ contact_id: survivorId })
      .where('contact_id', '=', mergedId)
      .execute();
    await trx
      .updateTable('contact_stage_history')
      .set({ contact_id: survivorId })
      .where('contact_id', '=', mergedId)
      .execute();
    await sql`insert into opportunity_contacts (opportunity_id, contact_id, role)
              select opportunity_id, ${survivorId}, role from opportunity_contacts where contact_id = ${mergedId}
              on conflict do nothing`.execute(trx);
    await trx.deleteFrom('opportunity_contacts').where('contact_id', '=', mergedId).execute();
  } else {
    const [survivor, merged] = await Promise.all([
      trx.selectFrom('accounts').selectAll().where('id', '=', survivorId).executeTakeFirstOrThrow(),
      trx.selectFrom('accounts').selectAll().where('id', '=', mergedId).executeTakeFirstOrThrow(),
    ]);
    await trx
      .updateTable('accounts')
      .set({ merged_into_id: survivorId, updated_at: new Date() })
      .where('id', '=', mergedId)
      .execute();
    await trx
      .updateTable('accounts')
      .set({ merged_into_id: survivorId })
      .where('merged_into_id', '=', mergedId)
      .execute();
    await trx
      .updateTable('accounts')
      .set(combine(survivor, merged, ACCOUNT_FIELDS))
      .where('id', '=', survivorId)
      .execute();
    await trx
      .updateTable('events')
      .set({ account_id: survivorId })
      .where('account_id', '=', mergedId)
      .execute();
    await trx
      .updateTable('contacts')
      .set({ account_id: survivorId })
      .where('account_id', '=', mergedId)
      .execute();
    await trx
      .updateTable('opportunities')
      .set({ account_id: survivorId })
      .where('account_id', '=', mergedId)
      .execute();
    await trx
      .updateTable('accounts')
      .set({ parent_id: survivorId })
      .where('parent_id', '=', mergedId)
      .execute();
  }
  await trx
    .insertInto('identity_merges')
    .values({
      kind,
      survivor_id: survivorId,
      merged_id: mergedId,
      evidence: JSON.stringify(evidence),
      moved_keys: moved.map((m) => m.key),
    })
    .execute();
}

/** Field by field, the newer value (by its as-of time) wins; a value beats no value. */
function combine<T extends { field_times: Record<string, string> }>(
  survivor: T,
  merged: T,
  fields: readonly (keyof T & string)[],
) {
  const values: Record<string, unknown> = {};
  const times = { ...survivor.field_times };
  for (const field of fields) {
    const mergedValue = merged[field];
    if (mergedValue === null || mergedValue === undefined) continue;
    const survivorTime = survivor.field_times[field];
    const mergedTime = merged.field_times[field];
    const survivorEmpty = survivor[field] === null || survivor[field] === undefined;
    if (survivorEmpty || (mergedTime && (!survivorTime || mergedTime > survivorTime))) {
      values[field] = mergedValue;
      if (mergedTime) times[field] = mergedTime;
    }
  }
  return { ...values, field_times: JSON.stringify(times), updated_at: new Date() };
}

/**
 * Undoes a merge: the merged entity gets its keys back and is live again, and events are re-attributed from
 * the identity keys they carried. Values the survivor took over from the merged entity at merge time stay on
 * the survivor, except a unique identifier (email, domain) that came from it.
 */
export async function unmerge(db: Db, mergeId: string, by: string, reason: string) {
  return db.transaction().execute(async (trx) => {
    // What the moved keys point at changes: no merge and no ingestion may read or move keys meanwhile.
    await lockIdentityMerges(trx);
    const merge = await trx
      .selectFrom('identity_merges')
      .selectAll()
      .where('id', '=', mergeId)
      .forUpdate()
      .executeTakeFirst();
    if (!merge) throw new AppError('not_found', `No merge with id ${mergeId}`);
    if (merge.unmerged_at)
      throw new AppError(
        'conflict',
        `Merge ${mergeId} was already undone at ${merge.unmerged_at.toISOString()}`,
      );
    const table = merge.kind === 'contact' ? 'contacts' : 'accounts';
    const survivor = await trx
      .selectFrom(table)
      .select(['id', 'merged_into_id'])
      .where('id', '=', merge.survivor_id)
      .executeTakeFirstOrThrow();
    if (survivor.merged_into_id) {
      throw new AppError(
        'conflict',
        `The survivor ${survivor.id} was itself merged into ${survivor.merged_into_id} later; undo that merge first`,
      );
    }
    await trx
      .updateTable('identity_keys')
      .set({ entity_id: merge.merged_id })
      .where('kind', '=', merge.kind)
      .where('key', 'in', merge.moved_keys.length ? merge.moved_keys : ['\u0000'])
      .where('entity_id', '=', merge.survivor_id)
      .execute();
    const survivorKeys = (
      await trx
        .selectFrom('identity_keys')
        .select('key')
        .where('kind', '=', merge.kind)
        .where('entity_id', '=', merge.survivor_id)
        .execute()
    ).map((r) => r.key);
    if (merge.kind === 'contact') {
      const merged = await trx
        .selectFrom('contacts')
        .select(['email'])
        .where('id', '=', merge.merged_id)
        .executeTakeFirstOrThrow();
      if (merged.email) {
        await trx
          .updateTable('contacts')
          .set({ email: null })
          .where('id', '=', merge.survivor_id)
          .where('email', '=', merged.email)
          .execute();
      }
      await trx
        .updateTable('contacts')
        .set({ merged_into_id: null, updated_at: new Date() })
        .where('id', '=', merge.merged_id)
        .execute();
      const movedEvents = await sql<{ id: string }>`
        update events set contact_id = ${merge.merged_id}
        where contact_id = ${merge.survivor_id} and contact_keys && ${merge.moved_keys}::text[]
          and not (contact_keys && ${survivorKeys}::text[])
        returning id`.execute(trx);
      const ids = movedEvents.rows.map((r) => r.id);
      if (ids.length > 0) {
        await trx
          .updateTable('contact_stage_history')
          .set({ contact_id: merge.merged_id })
          .where('event_id', 'in', ids)
          .execute();
      }
    } else {
      const merged = await trx
        .selectFrom('accounts')
        .select(['domain'])
        .where('id', '=', merge.merged_id)
        .executeTakeFirstOrThrow();
      if (merged.domain) {
        await trx
          .updateTable('accounts')
          .set({ domain: null })
          .where('id', '=', merge.survivor_id)
          .where('domain', '=', merged.domain)
          .execute();
      }
      await trx
        .updateTable('accounts')
        .set({ merged_into_id: null, updated_at: new Date() })
        .where('id', '=', merge.merged_id)
        .execute();
      await sql`update events set account_id = ${merge.merged_id}
                where account_id = ${merge.survivor_id} and account_keys && ${merge.moved_keys}::text[]
                  and not (account_keys && ${survivorKeys}::text[])`.execute(trx);
    }
    return trx
      .updateTable('identity_merges')
      .set({ unmerged_at: new Date(), unmerged_by: by, unmerge_reason: reason })
      .where('id', '=', mergeId)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

export async function listMerges(db: Db, filter: { entityId?: string; kind?: MergeableKind }) {
  let query = db.selectFrom('identity_merges').selectAll().orderBy('merged_at', 'desc').limit(500);
  if (filter.entityId)
    query = query.where((w) =>
      w.or([w('survivor_id', '=', filter.entityId!), w('merged_id', '=', filter.entityId!)]),
    );
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  return query.execute();
}
