// The one path every event takes into the system, whatever the channel (HTTP, webhook, CSV, NATS, simulator,
// quarantine replay): validate, normalise, store idempotently, resolve identities, update entities.
// Each event is stored whole or not at all (a chunk's transaction, or, after a failure in it, a savepoint per
// event); bad events go to the quarantine with the reason and their original payload. The result lists what happened to each event, in order.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type RawBuilder } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyField, copyRow, copyTextArray } from '../db/copy-text.ts';
import { executeTogether, transactionWithConnection, type Db } from '../db/database.ts';
import type { IngestChannel } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import {
  checkedDataOf,
  cloudEventSchema,
  EVENT_CATALOGUE,
  isCloudEvent,
  isKnownEventType,
  type EventType,
} from './catalogue.ts';
import { accountIdentity, contactIdentity, type AccountRef, type ContactRef } from './identity-keys.ts';
import { normalizeTimestamp } from './normalize.ts';
import { createFieldWriter, fieldStamp, settledEarliest, type FieldWriter } from './field-writer.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import {
  applyEffects,
  projectEvent,
  resolveAttribution,
  type Attribution,
  type EventIdentities,
  type ProjectionContext,
} from './project.ts';
import {
  CommittedKeys,
  createIdentityCache,
  MergeNeedsExclusiveLock,
  applyKeyRead,
  keyReadExpression,
  planKeyRead,
  takeIdentityKeys,
  type IdentityCache,
} from './identity.ts';
import { quarantineRecord, type QuarantineReason } from './quarantine.ts';

export type IngestStatus = 'accepted' | 'duplicate' | 'quarantined';

export interface IngestResult {
  index: number;
  status: IngestStatus;
  source?: string;
  id?: string;
  /** The stored event's id (accepted) or the existing one (duplicate). */
  event_id?: string;
  quarantine_id?: string;
  reason_code?: QuarantineReason;
  reason?: string;
  warnings?: string[];
  type_known?: boolean;
}

export interface IngestReport {
  batch_id: string;
  accepted: number;
  duplicate: number;
  quarantined: number;
  results: IngestResult[];
}

export interface IngestOptions {
  channel: IngestChannel;
  createdBy?: string | null;
  /** Add to an existing batch (CSV import, NATS consumer) instead of opening one per call. */
  batchId?: string;
  mappingVersion?: string | null;
  /** Row numbers (CSV) to keep with quarantined records, by index. */
  recordNumbers?: number[];
  description?: string;
  /**
   * 'quarantine' (default) stores rejected records; 'report' only reports them — used when replaying a record
   * that is already in the quarantine, so a second failure does not create a second copy.
   */
  onReject?: 'quarantine' | 'report';
  /**
   * How many of the call's chunks may be stored at once, each in its own transaction (default 1). A call with
   * enough events is split into at least this many chunks. Callers that already store several calls at once
   * (CSV import, NATS consumer) leave it at 1.
   */
  concurrency?: number;
}

interface Prepared {
  index: number;
  source: string;
  id: string;
  type: string;
  known: EventType | null;
  occurredAt: Date;
  /** occurredAt as ISO 8601, made once: rows and field-time stamps both need it. */
  occurredIso: string;
  subject: string | null;
  data: unknown;
  raw: unknown;
  /** The identity keys the event carries; stored with it so attribution can be recomputed later. */
  contactKeys: string[];
  accountKeys: string[];
  /** The keys as the identity cache names them ("contact:email:a@b.com"). */
  contactNames: string[];
  accountNames: string[];
  /** Worked out once here and reused by attribution. */
  identities: EventIdentities;
}

export async function ingestCloudEvents(
  db: Db,
  events: unknown[],
  options: IngestOptions,
): Promise<IngestReport> {
  // A call without a batch names one here; the first chunk to commit creates its row (see recordBatch), so a
  // request costs one commit per chunk and a request that stores nothing leaves no empty batch behind.
  const batchId = options.batchId ?? randomUUID();
  const results: IngestResult[] = new Array(events.length);
  const sources: Sources = new Map();
  const prepared: Prepared[] = [];
  const rejected: Rejected[] = [];

  await loadSources(db, events, sources);
  for (let index = 0; index < events.length; index++) {
    const raw = events[index];
    const outcome = prepare(raw, index, sources);
    if ('code' in outcome) rejected.push({ ...outcome, index, raw });
    else prepared.push(outcome);
  }

  const concurrency = options.concurrency ?? 1;
  let chunks = splitIntoChunks(prepared, concurrency);
  // An id sent twice in one call: the first copy is the one stored. Within a chunk storeChunk sees to that;
  // concurrent chunks would race for it, so later copies are taken out here and answered from the first.
  const repeats: { event: Prepared; first: Prepared }[] = [];
  if (chunks.length > 1 && concurrency > 1) {
    const firstOf = new Map<string, Prepared>();
    const unique: Prepared[] = [];
    for (const event of prepared) {
      const key = keyOf(event.source, event.id);
      const first = firstOf.get(key);
      if (first) repeats.push({ event, first });
      else {
        firstOf.set(key, event);
        unique.push(event);
      }
    }
    if (repeats.length > 0) chunks = splitIntoChunks(unique, concurrency);
  }
  if (chunks.length === 0 && rejected.length > 0) chunks.push([]);
  // The rejected records are quarantined, and the repeats counted, with the first chunk. Chunks run
  // `concurrency` at a time: their events are independent (the outcome does not depend on the order they are
  // stored in, see field-writer), and while one chunk waits for PostgreSQL this process works on another.
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const at = next++;
      const extra = at === 0 ? { rejected, repeats: repeats.length } : { rejected: [], repeats: 0 };
      await storeChunkTransaction(db, chunks[at]!, extra, batchId, options, results);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  if (chunks.length === 0) await recordBatch(db, batchId, options, firstSource(events), undefined);
  for (const { event, first } of repeats)
    results[event.index] = duplicateOf(event, results[first.index]?.event_id);
  const counts = countStatuses(results);
  return { batch_id: batchId, ...counts, results };
}

interface Rejected {
  index: number;
  raw: unknown;
  source?: string;
  id?: string;
  code: QuarantineReason;
  reason: string;
  errors: unknown[];
}

/**
 * Events per transaction, at most. Its fixed costs (begin, commit, counters, the feature-refresh job) and the
 * identity keys its events share are paid once per chunk; 2,000 measured a quarter faster than 1,000 on the
 * benchmark stream.
 */
const CHUNK = 2000;
/** Below this a call is not split further to run concurrently: fixed costs would outweigh the overlap. */
const MIN_CONCURRENT_CHUNK = 250;

/** Chunks of at most CHUNK events, and at least `concurrency` of them when there are enough events. */
function splitIntoChunks(prepared: Prepared[], concurrency: number): Prepared[][] {
  if (prepared.length === 0) return [];
  const count = Math.max(
    Math.ceil(prepared.length / CHUNK),
    Math.min(concurrency, Math.floor(prepared.length / MIN_CONCURRENT_CHUNK)),
    1,
  );
  const size = Math.ceil(prepared.length / count);
  const chunks: Prepared[][] = [];
  for (let start = 0; start < prepared.length; start += size)
    chunks.push(prepared.slice(start, start + size));
  return chunks;
}

/**
 * One chunk in one transaction: its events stored (or, one by one, quarantined), and the call's rejected records
 * kept and repeated ids counted if it is the first chunk.
 */
async function storeChunkTransaction(
  db: Db,
  chunk: Prepared[],
  extra: { rejected: Rejected[]; repeats: number },
  batchId: string,
  options: IngestOptions,
  results: IngestResult[],
): Promise<void> {
  // Shared hold of the identity-merge lock first; exclusive if the chunk turns out to need a merge.
  let mergesExclusive = false;
  // Set when something in the chunk cannot be applied: the transaction is rolled back and the chunk redone one
  // event at a time, so only the bad event is quarantined and every other event is stored whole. (A whole new
  // transaction rather than a savepoint: two round trips fewer for every chunk that goes well.)
  let oneByOne = false;
  const attempt = () =>
    transactionWithConnection(db, async (trx, connection) => {
      let fast: Caches | null = null;
      let dirty: (string | null)[] = [];
      const source = chunk[0]?.source ?? firstSource(extra.rejected.map((r) => r.raw));
      const chunkCounts = () => {
        const counts = countStatuses(chunk.map((c) => results[c.index]));
        counts.quarantined += extra.rejected.length;
        counts.duplicate += extra.repeats;
        return counts;
      };
      let counts;
      if (!oneByOne) {
        const caches = newCaches(committedKeys(db), mergesExclusive);
        try {
          const stored = await storeChunk(trx, connection, chunk, batchId, options, caches);
          for (const result of stored.results) results[result.index] = result;
          dirty = stored.dirty;
          counts = chunkCounts();
          // The entities' changes, the last new keys, the dirty marks and the batch's counts in one statement.
          // The batch row before the quarantine rows below that reference it.
          const keys = takeIdentityKeys(caches.identities);
          await caches.writer.flush(trx, [
            ...(keys ? [keys] : []),
            ...batchStatements(batchId, options, source, counts, dirty),
          ]);
        } catch (error) {
          if (isRetryable(error)) throw error;
          oneByOne = true;
          throw new RedoOneByOne('redo the chunk one event at a time', { cause: error });
        }
        fast = caches;
      } else {
        // The batch row first: the events that fail now are quarantined with a reference to it.
        await recordBatch(trx, batchId, options, chunk[0]!.source, undefined);
        const slow = newCaches(committedKeys(db), mergesExclusive);
        for (const event of chunk)
          results[event.index] = await storeOne(trx, event, batchId, options, slow, dirty);
        counts = chunkCounts();
        await recordBatch(trx, batchId, options, source, counts, dirty);
      }
      for (const bad of extra.rejected) {
        const id =
          options.onReject === 'report'
            ? undefined
            : await quarantineRecord(trx, {
                batchId,
                channel: options.channel,
                source: bad.source ?? null,
                sourceEventId: bad.id ?? null,
                recordNumber: options.recordNumbers?.[bad.index] ?? null,
                code: bad.code,
                reason: bad.reason,
                errors: bad.errors,
                raw: bad.raw,
                mappingVersion: options.mappingVersion ?? null,
              });
        results[bad.index] = {
          index: bad.index,
          status: 'quarantined',
          ...(bad.source ? { source: bad.source } : {}),
          ...(bad.id ? { id: bad.id } : {}),
          ...(id ? { quarantine_id: id } : {}),
          reason_code: bad.code,
          reason: bad.reason,
        };
      }
      return { fast, marked: counts.accepted > 0 };
    }).catch((error: unknown) => {
      if (error instanceof MergeNeedsExclusiveLock) mergesExclusive = true;
      throw error;
    });
  let committed;
  try {
    committed = await withDeadlockRetry(attempt);
  } catch (error) {
    if (!(error instanceof RedoOneByOne)) throw error;
    committed = await withDeadlockRetry(attempt);
  }
  // What the chunk read and wrote may be remembered now (not after the one-by-one path, which replaced them).
  if (committed.fast) {
    committed.fast.writer.committed();
    committed.fast.identities.committed?.add(committed.fast.identities);
  }
  if (committed.marked) await wakeFeatureRefresh(db);
}

/**
 * Adds a chunk's counts to its batch, creating the batch row if this is the first chunk to commit (a batch the
 * caller opened exists already), and marks the chunk's contacts dirty (their features need a refresh; the refresh
 * job is woken after the commit, see wakeFeatureRefresh). Concurrent chunks of one batch meet on its row only
 * here, at the end of their transactions.
 */
async function recordBatch(
  trx: Db,
  batchId: string,
  options: IngestOptions,
  source: string,
  counts: { accepted: number; duplicate: number; quarantined: number } | undefined,
  dirty: (string | null)[] = [],
): Promise<void> {
  await executeTogether(trx, batchStatements(batchId, options, source, counts, dirty));
}

/** recordBatch's statements, to run together with others (executeTogether). */
function batchStatements(
  batchId: string,
  options: IngestOptions,
  source: string,
  counts: { accepted: number; duplicate: number; quarantined: number } | undefined,
  dirty: (string | null)[],
): RawBuilder<unknown>[] {
  // Sorted, so two transactions marking overlapping sets take the rows' locks in the same order.
  const ids = [...new Set(dirty.filter((id): id is string => Boolean(id)))].sort();
  return [
    ...(ids.length > 0
      ? [sql`insert into dirty_contacts (contact_id) select unnest(${ids}::uuid[]) on conflict do nothing`]
      : []),
    sql`
    insert into ingest_batches (id, source, channel, created_by, mapping_version, description, accepted, duplicate,
                                quarantined, finished_at)
    values (${batchId}::uuid, ${source}, ${options.channel}, ${options.createdBy ?? null}::uuid,
            ${options.mappingVersion ?? null}::text, ${options.description ?? null}::text, ${counts?.accepted ?? 0}::int,
            ${counts?.duplicate ?? 0}::int, ${counts?.quarantined ?? 0}::int, now())
    on conflict (id) do update
      set accepted = ingest_batches.accepted + excluded.accepted,
          duplicate = ingest_batches.duplicate + excluded.duplicate,
          quarantined = ingest_batches.quarantined + excluded.quarantined,
          finished_at = excluded.finished_at`,
  ];
}

function countStatuses(results: (IngestResult | undefined)[]) {
  let accepted = 0;
  let duplicate = 0;
  let quarantined = 0;
  for (const r of results) {
    if (r?.status === 'accepted') accepted++;
    else if (r?.status === 'duplicate') duplicate++;
    else if (r?.status === 'quarantined') quarantined++;
  }
  return { accepted, duplicate, quarantined };
}

type Sources = Map<string, { timezone: string; active: boolean } | null>;

/** The registered sources the events name, in one query (null for a name that is not registered). */
async function loadSources(db: Db, events: unknown[], sources: Sources): Promise<void> {
  const names = new Set<string>();
  for (const raw of events) {
    const source = (raw as { source?: unknown } | null)?.source;
    if (typeof source === 'string' && !sources.has(source)) names.add(source);
  }
  if (names.size === 0) return;
  const rows = await db
    .selectFrom('sources')
    .select(['name', 'timezone', 'active'])
    .where('name', 'in', [...names])
    .execute();
  for (const name of names) sources.set(name, null);
  for (const row of rows) sources.set(row.name, { timezone: row.timezone, active: row.active });
}

function prepare(
  raw: unknown,
  index: number,
  sources: Sources,
): Prepared | { code: QuarantineReason; reason: string; errors: unknown[]; source?: string; id?: string } {
  const envelope = isCloudEvent(raw)
    ? ({ success: true, data: raw } as const)
    : cloudEventSchema.safeParse(raw);
  const loose = (raw ?? {}) as { source?: unknown; id?: unknown };
  const source = typeof loose.source === 'string' ? loose.source : undefined;
  const id = typeof loose.id === 'string' ? loose.id : undefined;
  const ids = { ...(source ? { source } : {}), ...(id ? { id } : {}) };
  if (!envelope.success) {
    const errors = envelope.error.issues.map((i) => ({
      field: i.path.join('.') || '(event)',
      message: i.message,
    }));
    return {
      code: 'invalid_envelope',
      reason: `Not a CloudEvents 1.0 event: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      errors,
      ...ids,
    };
  }
  const event = envelope.data;
  if (containsNul(raw)) {
    return {
      code: 'invalid_data',
      reason: 'The event contains a NUL character (\\u0000), which cannot be stored; remove it and replay',
      errors: [{ field: '(event)', message: 'contains \\u0000' }],
      ...ids,
    };
  }
  const registered = sources.get(event.source);
  if (!registered || !registered.active) {
    return {
      code: 'unknown_source',
      reason: registered
        ? `Source "${event.source}" is deactivated`
        : `Unknown source "${event.source}": register it (POST /v1/sources or \`funnelgate source add ${event.source}\`), then replay`,
      errors: [{ field: 'source', message: 'not registered' }],
      ...ids,
    };
  }
  const occurredAt = normalizeTimestamp(event.time, registered.timezone);
  if (!occurredAt) {
    return {
      code: 'invalid_time',
      reason: `time "${event.time}" is not an RFC 3339 date-time (e.g. 2024-05-01T09:30:00Z)`,
      errors: [{ field: 'time', message: 'unparseable' }],
      ...ids,
    };
  }
  let data: unknown;
  let known: EventType | null = null;
  if (isKnownEventType(event.type)) {
    // Data its maker checked already (a CSV row as it was mapped) is not checked again.
    const checked = checkedDataOf(event.type, event.data);
    const parsed =
      checked !== undefined
        ? ({ success: true, data: checked } as const)
        : EVENT_CATALOGUE[event.type].safeParse(event.data);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((i) => ({
        field: ['data', ...i.path].join('.'),
        message: i.message,
      }));
      return {
        code: 'invalid_data',
        reason: `data does not match the schema of ${event.type}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
        errors,
        ...ids,
      };
    }
    data = parsed.data;
    known = event.type;
  } else {
    // Unknown types are kept as they came; if they carry usable references, they are attributed too.
    data = looseRefs(event.data);
  }
  const refs = data as { contact?: ContactRef; account?: AccountRef; country?: unknown };
  // The same identity resolution will use (a national phone number is read in the event's country).
  const contact = contactIdentity(refs.contact, event.source, phoneCountry(refs.country));
  if (known && contact.problems.length > 0 && !contact.strong) {
    return {
      code: 'invalid_identity',
      reason: `${contact.problems.join('; ')}, and the event has no other way to identify the contact`,
      errors: contact.problems.map((message) => ({ field: 'data.contact', message })),
      ...ids,
    };
  }
  const account = accountIdentity(refs.account, event.source, contact.email);
  return {
    index,
    source: event.source,
    id: event.id,
    type: event.type,
    known,
    occurredAt,
    occurredIso: occurredAt.toISOString(),
    subject: event.subject ?? null,
    data,
    raw,
    contactKeys: contact.keys,
    accountKeys: account.keys,
    contactNames: contact.keys.map((key) => `contact:${key}`),
    accountNames: account.keys.map((key) => `account:${key}`),
    identities: { contact, account },
  };
}

function phoneCountry(country: unknown): string | undefined {
  return typeof country === 'string' && /^[A-Z]{2}$/.test(country) ? country : undefined;
}

/** Whether any string (or key) in a parsed JSON value holds a NUL character, which PostgreSQL cannot store. */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(containsNul);
  for (const key in value) {
    if (key.includes('\u0000') || containsNul((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function looseRefs(data: unknown): unknown {
  if (!data || typeof data !== 'object') return {};
  const { contact, account } = data as { contact?: unknown; account?: unknown };
  const refs: Record<string, unknown> = {};
  const contactRef = EVENT_CATALOGUE['email.opened'].shape.contact.safeParse(contact);
  if (contactRef.success) refs['contact'] = contactRef.data;
  const accountRef = EVENT_CATALOGUE['crm.account.created'].shape.account.safeParse(account);
  if (accountRef.success) refs['account'] = accountRef.data;
  return refs;
}

interface Caches {
  owners: Map<string, string | null>;
  identities: IdentityCache;
  writer: FieldWriter;
}

/** Identity keys seen committed, per database handle (tests run many databases in one process). */
const committedKeysOf = new WeakMap<Db, CommittedKeys>();

function committedKeys(db: Db): CommittedKeys {
  let keys = committedKeysOf.get(db);
  if (!keys) {
    keys = new CommittedKeys();
    committedKeysOf.set(db, keys);
  }
  return keys;
}

function newCaches(committed?: CommittedKeys, mergesExclusive = false): Caches {
  return {
    owners: new Map(),
    identities: createIdentityCache(committed, mergesExclusive),
    writer: createFieldWriter(),
  };
}

/**
 * After a commit that marked contacts dirty: makes sure a refresh job starts after it (throttled: one run at most
 * every second, however many events arrive), without writing the job's row when it need not: every chunk doing
 * so would wait for the other chunks' commits. A job waiting to start will see this commit's marks, so then
 * nothing is written (a read, no lock); and until that job is due, no worker can have started it, so later
 * commits need not even read (one round trip fewer for most chunks). A process that stops between its commit and
 * this call leaves its marks to the minute cron (FEATURES_REFRESH_CRON).
 */
async function wakeFeatureRefresh(db: Db): Promise<void> {
  if (performance.now() < (refreshSurelyWaitingUntil.get(db) ?? 0)) return;
  try {
    // How long until the waiting job is due, by the database's clock (the one workers compare run_at with),
    // counted from here on this process's monotonic clock.
    const askedAt = performance.now();
    const waiting = await sql<{ due_in: number }>`
      select extract(epoch from run_at - now())::float8 as due_in from graphile_worker.jobs
      where key = 'features.refresh' and locked_at is null and attempts < max_attempts limit 1`.execute(db);
    const dueIn = waiting.rows[0]?.due_in;
    if (dueIn !== undefined) {
      // A quarter of a second to spare for the time between the statement's now() and its answer.
      refreshSurelyWaitingUntil.set(db, askedAt + (dueIn - 0.25) * 1000);
      return;
    }
    await enqueueJob(
      db,
      'features.refresh',
      {},
      { jobKey: 'features.refresh', jobKeyMode: 'preserve_run_at', runAt: new Date(Date.now() + 1000) },
    );
  } catch {
    // The events are committed: failing the call now would tell the sender they were not. The next commit
    // tries again, and the minute cron refreshes the marked contacts meanwhile.
  }
}

/** Per database handle: until when (performance.now()) the refresh job is known to be waiting, not yet due. */
const refreshSurelyWaitingUntil = new WeakMap<Db, number>();

function currentEntity(cache: IdentityCache, names: string[]): string | undefined {
  for (const name of names) {
    const id = cache.ids.get(name);
    if (id) return id;
  }
  return undefined;
}

/** The one entity all the keys point at (null for no keys), or undefined when they are not all known to point at one. */
function soleEntity(cache: IdentityCache, names: string[]): string | null | undefined {
  if (names.length === 0) return null;
  const first = cache.ids.get(names[0]!);
  if (!first) return undefined;
  for (let i = 1; i < names.length; i++) if (cache.ids.get(names[i]!) !== first) return undefined;
  return first;
}

// The identity fields resolveAttribution would write by the 'earliest' rule, as settledEarliest takes them.
const NOTHING: string[] = [];
const CONTACT_EMAIL = ['email', '~email'];
const CONTACT_PHONE = ['phone', '~phone'];
const CONTACT_EMAIL_PHONE = [...CONTACT_EMAIL, ...CONTACT_PHONE];
const CONTACT_ACCOUNT = ['account_id', '~account_id'];
const ACCOUNT_DOMAIN = ['domain', '~domain'];
const ACCOUNT_NAME = ['name', '~name'];
const ACCOUNT_DOMAIN_NAME = [...ACCOUNT_DOMAIN, ...ACCOUNT_NAME];

/**
 * Attribution without the general machinery, for the commonest event of all: activity (not a CRM record) about
 * a contact and account whose keys are all known and point at one entity each, and whose identity fields this
 * event cannot change any more (see settledEarliest). It is what resolveAttribution would work out, minus the
 * writes that would change nothing. Anything else returns undefined and takes the general path.
 */
function settledAttribution(event: Prepared, identities: IdentityCache): Attribution | undefined {
  if (event.known?.startsWith('crm.')) return undefined;
  if ((event.data as { opportunity?: unknown }).opportunity !== undefined) return undefined;
  const contactId = soleEntity(identities, event.contactNames);
  const accountId = soleEntity(identities, event.accountNames);
  if (contactId === undefined || accountId === undefined) return undefined;
  const stamp = fieldStamp(event.occurredIso, event.id);
  const { contact, account } = event.identities;
  if (contactId) {
    const fields = contact.email
      ? contact.phone
        ? CONTACT_EMAIL_PHONE
        : CONTACT_EMAIL
      : contact.phone
        ? CONTACT_PHONE
        : NOTHING;
    if (!settledEarliest('contacts', contactId, fields, stamp)) return undefined;
    if (accountId && !settledEarliest('contacts', contactId, CONTACT_ACCOUNT, stamp)) return undefined;
  }
  if (accountId) {
    const fields = account.domain
      ? account.name
        ? ACCOUNT_DOMAIN_NAME
        : ACCOUNT_DOMAIN
      : account.name
        ? ACCOUNT_NAME
        : NOTHING;
    if (!settledEarliest('accounts', accountId, fields, stamp)) return undefined;
  }
  return {
    contactId,
    accountId,
    opportunityId: null,
    contactKeys: event.contactKeys,
    accountKeys: event.accountKeys,
    warnings: [],
  };
}

const keyOf = (source: string, id: string) => `${source}\u0000${id}`;

/** The result of an event that was stored before (its stored id, when known). */
function duplicateOf(event: Prepared, eventId: string | undefined): IngestResult {
  return {
    index: event.index,
    source: event.source,
    id: event.id,
    type_known: event.known !== null,
    status: 'duplicate',
    ...(eventId ? { event_id: eventId } : {}),
  };
}

/**
 * The events already stored, by source and id: one index look-up per event, one statement per source. With
 * `reserveIds`, the first statement also takes that many ids from the events' sequence (for COPY, which returns
 * none): one round trip fewer per chunk. Ids left unused (duplicates) are only gaps in the sequence.
 */
async function findStored(
  trx: Db,
  events: Prepared[],
  reserveIds = 0,
  /** An expression to evaluate in the first statement too (one round trip fewer); its value is returned. */
  also?: RawBuilder<string>,
): Promise<{ stored: Map<string, string>; ids: string[]; also?: string }> {
  const idsBySource = new Map<string, string[]>();
  for (const event of events) {
    const ids = idsBySource.get(event.source);
    if (ids) ids.push(event.id);
    else idsBySource.set(event.source, [event.id]);
  }
  const stored = new Map<string, string>();
  let reserved: string[] = [];
  let alsoValue: string | undefined;
  for (const [source, ids] of idsBySource) {
    // The identity column's sequence is events_id_seq (migration 0001), named so it is looked up once, not per
    // id; all the ids in one text value ("12,13,14"): a thousand rows would cost more to read than to make.
    const found = await sql<{ stored: [string, string][]; ids: string | null; also: string | null }>`
      select coalesce((select json_agg(json_build_array(id::text, source_event_id)) from events
                       where source = ${source} and source_event_id = any(${ids}::text[])), '[]') as stored,
             case when ${reserveIds}::int > 0
                  then array_to_string(array(select nextval('events_id_seq'::regclass)
                                             from generate_series(1, ${reserveIds}::int)), ',') end as ids,
             ${also ?? sql`null::text`} as also`.execute(trx);
    const row = found.rows[0]!;
    for (const [id, sourceEventId] of row.stored) stored.set(keyOf(source, sourceEventId), id);
    if (row.ids) reserved = row.ids.split(',');
    if (also) alsoValue = row.also ?? undefined;
    reserveIds = 0;
    also = undefined;
  }
  return { stored, ids: reserved, ...(alsoValue !== undefined ? { also: alsoValue } : {}) };
}

/**
 * The fast path for a chunk, in a few statements whatever its size: find the duplicates and lock and load every
 * identity key (one statement), resolve who each new event is about, create the new entities (one statement),
 * COPY all events already attributed, then apply their effects on the entities. The changed entities are
 * written by the caller, with the chunk's counts and dirty marks (storeChunkTransaction); the contacts to mark
 * dirty are returned for that.
 */
async function storeChunk(
  trx: Db,
  connection: pg.PoolClient | null,
  chunk: Prepared[],
  batchId: string,
  options: IngestOptions,
  caches: Caches,
): Promise<{ results: IngestResult[]; dirty: (string | null)[] }> {
  if (chunk.length === 0) return { results: [], dirty: [] };
  // Every identity key of the chunk is locked and read by the same statement that finds its duplicates (one
  // round trip fewer; the keys of a duplicate are read for nothing, which costs less than the round trip).
  const names: string[] = [];
  for (const event of chunk) names.push(...event.contactNames, ...event.accountNames);
  const keyRead = planKeyRead(caches.identities, names);
  const found = await findStored(
    trx,
    chunk,
    connection ? chunk.length : 0,
    keyRead ? keyReadExpression(keyRead, caches.identities) : undefined,
  );
  const { stored, ids: reservedIds } = found;
  if (keyRead) await applyKeyRead(trx, caches.identities, keyRead, found.also!);
  const fresh: Prepared[] = [];
  const seen = new Set<string>();
  for (const event of chunk) {
    const key = keyOf(event.source, event.id);
    // The first copy of an id within one request is the one stored; later copies are duplicates.
    if (!stored.has(key) && !seen.has(key)) fresh.push(event);
    seen.add(key);
  }
  const changesBefore = caches.identities.changes;
  const attributed: { event: Prepared; ctx: ProjectionContext | null; attribution: Attribution }[] = [];
  for (const event of fresh) {
    const settled = settledAttribution(event, caches.identities);
    if (settled) {
      attributed.push({ event, ctx: null, attribution: settled });
      continue;
    }
    const ctx: ProjectionContext = {
      trx,
      source: event.source,
      eventId: '',
      sourceEventId: event.id,
      occurredAt: event.occurredAt,
      ...caches,
    };
    attributed.push({
      event,
      ctx,
      attribution: await resolveAttribution(ctx, event.known, event.data, event.identities),
    });
  }
  // The new contacts, accounts and opportunities and their keys, in one statement, before events point at them.
  const keys = takeIdentityKeys(caches.identities);
  await executeTogether(trx, [...caches.writer.takeCreates(), ...(keys ? [keys] : [])]);
  // Later events of the chunk may have changed what earlier ones resolved to (a visitor id that became known,
  // two contacts merged): take each event's entities from its keys as they stand now.
  if (caches.identities.changes !== changesBefore) {
    for (const { event, attribution } of attributed) {
      attribution.contactId = currentEntity(caches.identities, event.contactNames) ?? attribution.contactId;
      attribution.accountId = currentEntity(caches.identities, event.accountNames) ?? attribution.accountId;
    }
  }
  const mappingVersion = options.mappingVersion ?? null;
  // The stored event's id for each attributed event, in order (none: stored by a concurrent ingester a moment
  // ago, so a duplicate, reported below).
  let eventIds: (string | undefined)[];
  if (attributed.length === 0) eventIds = [];
  else if (connection)
    eventIds = await copyEvents(connection, attributed, reservedIds, batchId, mappingVersion);
  else {
    const inserted = await insertEvents(trx, attributed.map(eventRow), batchId, mappingVersion);
    const byKey = new Map(inserted.map((r) => [keyOf(r.source, r.source_event_id), r.id]));
    eventIds = attributed.map(({ event }) => byKey.get(keyOf(event.source, event.id)));
  }
  const results = new Map<number, IngestResult>();
  const dirty: (string | null)[] = [];
  for (let i = 0; i < attributed.length; i++) {
    const eventId = eventIds[i];
    if (!eventId) continue;
    const { event, ctx, attribution } = attributed[i]!;
    if (ctx) {
      ctx.eventId = eventId;
      await applyEffects(ctx, event.known, event.data, attribution);
    }
    dirty.push(attribution.contactId);
    results.set(event.index, {
      index: event.index,
      source: event.source,
      id: event.id,
      type_known: event.known !== null,
      status: 'accepted',
      event_id: eventId,
      ...(attribution.warnings.length ? { warnings: attribution.warnings } : {}),
    });
  }
  // What the effects changed is written with the batch's counts (storeChunkTransaction): one statement.
  if (results.size === chunk.length) return { results: [...results.values()], dirty };
  // The duplicates: stored before, stored by a concurrent ingester a moment ago, or an earlier copy in this chunk.
  const insertedIds = new Map<string, string>();
  for (let i = 0; i < attributed.length; i++) {
    const { event } = attributed[i]!;
    if (eventIds[i]) insertedIds.set(keyOf(event.source, event.id), eventIds[i]!);
  }
  const late = chunk.filter(
    (e) =>
      !results.has(e.index) && !stored.has(keyOf(e.source, e.id)) && !insertedIds.has(keyOf(e.source, e.id)),
  );
  for (const [key, id] of (await findStored(trx, late)).stored) stored.set(key, id);
  for (const event of chunk) {
    if (results.has(event.index)) continue;
    const key = keyOf(event.source, event.id);
    results.set(event.index, duplicateOf(event, stored.get(key) ?? insertedIds.get(key)));
  }
  return { results: [...results.values()], dirty };
}

async function storeOne(
  trx: Db,
  event: Prepared,
  batchId: string,
  options: IngestOptions,
  caches: Caches,
  /** Contacts of the events stored, to be marked dirty with the chunk's counts. */
  dirty: (string | null)[],
): Promise<IngestResult> {
  const base = { index: event.index, source: event.source, id: event.id, type_known: event.known !== null };
  await sql`savepoint ingest_event`.execute(trx);
  try {
    const inserted = await trx
      .insertInto('events')
      .values({
        source: event.source,
        source_event_id: event.id,
        type: event.type,
        type_known: event.known !== null,
        occurred_at: event.occurredAt,
        subject: event.subject,
        payload: JSON.stringify(event.raw),
        batch_id: batchId,
        mapping_version: options.mappingVersion ?? null,
        contact_keys: event.contactKeys,
        account_keys: event.accountKeys,
      })
      .onConflict((oc) => oc.columns(['source', 'source_event_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      await sql`release savepoint ingest_event`.execute(trx);
      const existing = await trx
        .selectFrom('events')
        .select('id')
        .where('source', '=', event.source)
        .where('source_event_id', '=', event.id)
        .executeTakeFirst();
      return { ...base, status: 'duplicate', ...(existing ? { event_id: existing.id } : {}) };
    }
    const ctx: ProjectionContext = {
      trx,
      source: event.source,
      eventId: inserted.id,
      sourceEventId: event.id,
      occurredAt: event.occurredAt,
      ...caches,
    };
    const attribution = await projectEvent(ctx, event.known, event.data, event.identities);
    await caches.writer.flush(trx);
    await trx
      .updateTable('events')
      .set({
        contact_id: attribution.contactId,
        account_id: attribution.accountId,
        opportunity_id: attribution.opportunityId,
      })
      .where('id', '=', inserted.id)
      .execute();
    await sql`release savepoint ingest_event`.execute(trx);
    dirty.push(attribution.contactId);
    return {
      ...base,
      status: 'accepted',
      event_id: inserted.id,
      ...(attribution.warnings.length ? { warnings: attribution.warnings } : {}),
    };
  } catch (error) {
    await sql`rollback to savepoint ingest_event`.execute(trx);
    if (isRetryable(error)) throw error;
    // What this event cached or queued is gone with the savepoint.
    caches.identities = createIdentityCache(caches.identities.committed, caches.identities.mergesExclusive);
    caches.writer = createFieldWriter();
    const reason = `Could not be applied: ${(error as Error).message}`;
    if (options.onReject === 'report')
      return { ...base, status: 'quarantined', reason_code: 'processing_failed', reason };
    const id = await quarantineRecord(trx, {
      batchId,
      channel: options.channel,
      source: event.source,
      sourceEventId: event.id,
      recordNumber: options.recordNumbers?.[event.index] ?? null,
      code: 'processing_failed',
      reason,
      errors: [],
      raw: event.raw,
      mappingVersion: options.mappingVersion ?? null,
    });
    return { ...base, status: 'quarantined', quarantine_id: id, reason_code: 'processing_failed', reason };
  }
}

type EventRow = {
  source: string;
  source_event_id: string;
  type: string;
  type_known: boolean;
  occurred_at: string;
  subject: string | null;
  payload: unknown;
  contact_keys: string[];
  account_keys: string[];
  contact_id: string | null;
  account_id: string | null;
  opportunity_id: string | null;
};
type StoredRow = { id: string; source: string; source_event_id: string };

function eventRow({ event, attribution }: { event: Prepared; attribution: Attribution }): EventRow {
  return {
    source: event.source,
    source_event_id: event.id,
    type: event.type,
    type_known: event.known !== null,
    occurred_at: event.occurredIso,
    subject: event.subject,
    payload: event.raw,
    contact_keys: event.contactKeys,
    account_keys: event.accountKeys,
    contact_id: attribution.contactId,
    account_id: attribution.accountId,
    opportunity_id: attribution.opportunityId,
  };
}

/** The events of a chunk in one INSERT; an event a concurrent ingester stored a moment ago is skipped. */
async function insertEvents(
  trx: Db,
  rows: EventRow[],
  batchId: string,
  mappingVersion: string | null,
): Promise<StoredRow[]> {
  const result = await sql<StoredRow>`
    insert into events (source, source_event_id, type, type_known, occurred_at, subject, payload, batch_id,
                        mapping_version, contact_keys, account_keys, contact_id, account_id, opportunity_id)
    select x.source, x.source_event_id, x.type, x.type_known, x.occurred_at, x.subject, x.payload,
           ${batchId}::uuid, ${mappingVersion}::text,
           array(select jsonb_array_elements_text(x.contact_keys)), array(select jsonb_array_elements_text(x.account_keys)),
           x.contact_id, x.account_id, x.opportunity_id
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(source text, source_event_id text, type text,
         type_known boolean, occurred_at timestamptz, subject text, payload jsonb, contact_keys jsonb, account_keys jsonb,
         contact_id uuid, account_id uuid, opportunity_id uuid)
    on conflict (source, source_event_id) do nothing
    returning id, source, source_event_id`.execute(trx);
  return result.rows;
}

/** A concurrent ingester stored one of the chunk's events between our duplicate check and our COPY. */
class ConcurrentDuplicate extends Error {}

/** The chunk's fast path failed for a reason retrying will not cure: it is redone one event at a time. */
class RedoOneByOne extends Error {}

/**
 * The events of a chunk with COPY, which PostgreSQL writes in bulk (about a third cheaper than the INSERT
 * above). Their ids were taken from the table's sequence with the duplicate check (findStored), since COPY
 * returns nothing. COPY cannot skip a conflicting row: if another ingester stored one of these events since the
 * duplicate check, the whole chunk is retried, and the retry's check finds it.
 */
async function copyEvents(
  connection: pg.PoolClient,
  attributed: readonly { event: Prepared; attribution: Attribution }[],
  ids: string[],
  batchId: string,
  mappingVersion: string | null,
): Promise<string[]> {
  const batch = copyField(batchId);
  const mapping = copyField(mappingVersion);
  let text = '';
  for (let i = 0; i < attributed.length; i++) {
    const { event, attribution } = attributed[i]!;
    text += copyRow([
      ids[i]!,
      copyField(event.source),
      copyField(event.id),
      copyField(event.type),
      event.known !== null ? 't' : 'f',
      event.occurredIso,
      copyField(event.subject),
      copyField(JSON.stringify(event.raw)),
      batch,
      mapping,
      copyTextArray(event.contactKeys),
      copyTextArray(event.accountKeys),
      copyField(attribution.contactId),
      copyField(attribution.accountId),
      copyField(attribution.opportunityId),
    ]);
  }
  try {
    await pipeline(
      Readable.from([text]),
      connection.query(
        copyFrom(`copy events (id, source, source_event_id, type, type_known, occurred_at, subject, payload, batch_id,
                   mapping_version, contact_keys, account_keys, contact_id, account_id, opportunity_id) from stdin`),
      ),
    );
  } catch (error) {
    const e = error as { code?: string; constraint?: string };
    if (e.code === '23505' && e.constraint === 'events_source_event_key')
      throw new ConcurrentDuplicate('an event of the chunk was stored concurrently');
    throw error;
  }
  return ids.slice(0, attributed.length);
}

function isRetryable(error: unknown): boolean {
  if (error instanceof ConcurrentDuplicate || error instanceof MergeNeedsExclusiveLock) return true;
  const code = (error as { code?: string }).code;
  return code === '40P01' || code === '40001';
}

async function withDeadlockRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error) || attempt >= 5) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
    }
  }
}

function firstSource(events: unknown[]): string {
  const first = events.find(
    (e) => e && typeof e === 'object' && typeof (e as { source?: unknown }).source === 'string',
  ) as { source: string } | undefined;
  return first?.source ?? 'unknown';
}

export async function openBatch(
  db: Db,
  options: Pick<IngestOptions, 'channel' | 'createdBy' | 'mappingVersion' | 'description'>,
  source: string,
): Promise<string> {
  const row = await db
    .insertInto('ingest_batches')
    .values({
      source,
      channel: options.channel,
      created_by: options.createdBy ?? null,
      mapping_version: options.mappingVersion ?? null,
      description: options.description ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export function assertBatchSize(count: number, max: number): void {
  if (count === 0) throw new AppError('bad_request', 'The batch is empty; send at least one event');
  if (count > max) {
    throw new AppError(
      'payload_too_large',
      `The batch has ${count} events; the limit is ${max}. Split it into smaller batches.`,
      {
        limit: max,
      },
    );
  }
}
