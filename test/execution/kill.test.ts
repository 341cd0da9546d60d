// THE KILL TEST: a real worker process is SIGKILLed while it is delivering to a target that answers slowly.
// The target de-duplicates by Idempotency-Key like a CRM does (the first request with a key is processed, later
// ones get the stored answer). A new run then finishes the work. Each decision's action is processed by the
// target exactly once; raw requests repeat only for the deliveries that were in flight at the kill.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import {
  createContact,
  createOwner,
  decisionOf,
  proposeDecision,
  routing,
  startTarget,
  WEBHOOK_SECRET,
  type Target,
} from './fixtures.ts';

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const script = path.join(import.meta.dirname, 'deliver-child.ts');

let database: TestDatabase;
let target: Target;

beforeAll(async () => {
  database = await createTestDatabase();
  target = await startTarget();
});
afterAll(async () => {
  await target?.close();
  await database?.drop();
});

function spawnDelivery(): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(node, [script, '2'], {
    cwd: root,
    env: {
      DATABASE_URL: database.url,
      LOG_LEVEL: 'warn',
      FUNNELGATE_WEBHOOK_URL: `${target.url}/hooks/crm`,
      FUNNELGATE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      // A lease of 6 s: the request timeout becomes 4.8 s, and a killed worker's deliveries are taken up 6 s
      // after they were claimed.
      FUNNELGATE_EXECUTION_VISIBILITY_TIMEOUT_SECONDS: '6',
      FUNNELGATE_EXECUTION_BACKOFF_BASE_MS: '10',
      FUNNELGATE_EXECUTION_BACKOFF_CAP_MS: '50',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function statusCounts(): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }>`
    select status, count(*)::int as n from outbox group by status`.execute(database.db);
  return Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
}

it('delivers each action at most once per key across a SIGKILL mid-delivery, and exactly once after', async () => {
  const total = 8;
  const ids: string[] = [];
  for (let i = 0; i < total; i++) {
    const owner = await createOwner(database.db);
    const previous = await createOwner(database.db);
    const contactId = await createContact(database.db);
    ids.push(
      await proposeDecision(database.db, routing(contactId, owner.id, previous.id), { connector: 'webhook' }),
    );
  }

  // The CRM: processes the first request with a key (at receipt), and answers a repeated key with the stored
  // response without processing it again. While "slow", it answers the first two requests at once and then
  // takes a minute per answer.
  const appliedPerDecision = new Map<string, Set<string>>();
  const rawPerKey = new Map<string, number>();
  const processedKeys = new Set<string>();
  let slow = true;
  let fastAnswers = 0;
  let hanging = 0;
  target.answer = (request) => {
    const key = request.headers['idempotency-key'] as string;
    rawPerKey.set(key, (rawPerKey.get(key) ?? 0) + 1);
    if (!processedKeys.has(key)) {
      processedKeys.add(key);
      const decisionId = request.body.data.decision_id as string;
      const applied = appliedPerDecision.get(decisionId) ?? new Set<string>();
      applied.add(key);
      appliedPerDecision.set(decisionId, applied);
    }
    if (!slow) return { status: 200, body: { ok: true, key } };
    if (fastAnswers < 2) {
      fastAnswers++;
      return { status: 200, body: { ok: true, key } };
    }
    hanging++;
    return { status: 200, body: { ok: true, key }, delayMs: 60_000 };
  };

  const first = spawnDelivery();
  try {
    await until('the worker to deliver two and hang on two more', async () => {
      if (first.child.exitCode !== null) throw new Error(`the worker exited early: ${first.output()}`);
      return hanging >= 2 && ((await statusCounts())['delivered'] ?? 0) >= 2;
    });
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
  } finally {
    if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
  }
  expect(first.child.signalCode).toBe('SIGKILL');
  const atKill = await statusCounts();
  expect(atKill).toEqual({ delivered: 2, delivering: 2, pending: total - 4 });
  const stuck = await database.db
    .selectFrom('outbox')
    .select(['idempotency_key', 'decision_id'])
    .where('status', '=', 'delivering')
    .execute();
  for (const row of stuck) expect((await decisionOf(database.db, row.decision_id)).status).toBe('executing');
  // The target saw four keys before the kill: two answered and recorded, two answered too late.
  expect(rawPerKey.size).toBe(4);

  // The target recovers; new runs finish the work (the stuck deliveries once their lease has run out).
  slow = false;
  for (let run = 0; run < 10 && ((await statusCounts())['delivered'] ?? 0) < total; run++) {
    if (run > 0) await new Promise((r) => setTimeout(r, 1000));
    const next = spawnDelivery();
    const code = await new Promise<number | null>((resolve) => next.child.once('exit', resolve));
    expect(code, next.output()).toBe(0);
  }
  expect(await statusCounts()).toEqual({ delivered: total });

  const stuckKeys = new Set(stuck.map((r) => r.idempotency_key));
  for (const id of ids) {
    const key = `fg-${id}-action`;
    // Processed by the target exactly once, under the one key of this decision.
    expect([...(appliedPerDecision.get(id) ?? [])]).toEqual([key]);
    // Sent again only if the kill caught it in flight; then exactly once more, with the same key.
    expect(rawPerKey.get(key)).toBe(stuckKeys.has(key) ? 2 : 1);
    const decision = await decisionOf(database.db, id);
    expect(decision.status).toBe('executed');
    expect(decision.execution).toMatchObject({ attempts: stuckKeys.has(key) ? 2 : 1 });
  }
  // Every request carried exactly the approved action of its decision.
  for (const request of target.requests) {
    const decision = await decisionOf(database.db, request.body.data.decision_id);
    expect(request.body.data.action).toEqual(decision.approved_action);
  }
  const reaped = await database.db
    .selectFrom('decision_transitions')
    .select(['decision_id', 'to_status'])
    .where('decision_id', 'in', [...stuck.map((r) => r.decision_id)])
    .orderBy('id')
    .execute();
  // The decision went to executing once; the takeover did not move it again.
  for (const row of stuck) {
    expect(reaped.filter((r) => r.decision_id === row.decision_id).map((r) => r.to_status)).toEqual([
      'proposed',
      'auto_approved',
      'executing',
      'executed',
    ]);
  }
}, 90_000);
