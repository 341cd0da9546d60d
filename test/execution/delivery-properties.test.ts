// Property: whatever the target answers, and in whatever order, the loop ends every delivery in exactly the
// state the rules say (delivered after the first 2xx; dead at the first permanent 4xx or after the last
// attempt), sends nothing but the approved action under the decision's one key, and attempts no more than
// allowed.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import {
  createContact,
  decisionOf,
  deliverUntilSettled,
  outboxOf,
  proposeDecision,
  startTarget,
  testSettings,
  type Answer,
  type Target,
} from './fixtures.ts';

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

const ANSWERS: Record<string, Answer> = {
  ok: { status: 200, body: { ok: true } },
  server_error: { status: 500 },
  busy: { status: 503 },
  conflict: { status: 409 },
  rate_limited: { status: 429 },
  bad_request: { status: 400 },
  not_found: { status: 404 },
};
const RETRYABLE = new Set(['server_error', 'busy', 'conflict', 'rate_limited']);

/** What the rules say happens to a delivery answered with `script` (the last answer repeats). */
function expected(script: string[], maxAttempts: number): { status: 'delivered' | 'dead'; attempts: number } {
  for (let attempt = 1; ; attempt++) {
    const answer = script[Math.min(attempt - 1, script.length - 1)]!;
    if (answer === 'ok') return { status: 'delivered', attempts: attempt };
    if (!RETRYABLE.has(answer) || attempt === maxAttempts) return { status: 'dead', attempts: attempt };
  }
}

it('ends each delivery as the rules say, sending only the approved action under one key', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.constantFrom(...Object.keys(ANSWERS)), { minLength: 1, maxLength: 6 }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.integer({ min: 1, max: 5 }),
      async (scripts, maxAttempts) => {
        await sql`delete from connector_state`.execute(database.db);
        target.requests.length = 0;
        const byKey = new Map<string, { script: string[]; n: number }>();
        const ids: string[] = [];
        for (const script of scripts) {
          const contactId = await createContact(database.db);
          const id = await proposeDecision(
            database.db,
            { type: 'lead.qualify', params: { contact_id: contactId, to_stage: 'sql', reason: 'property' } },
            { connector: 'webhook' },
          );
          ids.push(id);
          byKey.set(`fg-${id}-action`, { script, n: 0 });
        }
        target.answer = (request) => {
          const entry = byKey.get(request.headers['idempotency-key'] as string);
          if (!entry) return { status: 418 };
          return ANSWERS[entry.script[Math.min(entry.n++, entry.script.length - 1)]!]!;
        };
        // The breaker stays out of the way here; it has its own test.
        const settings = testSettings(target.url, {
          maxAttempts,
          breaker: { threshold: 1000, cooldownMs: 60_000 },
        });
        await deliverUntilSettled(database.db, settings, maxAttempts + 3);

        for (const [i, id] of ids.entries()) {
          const want = expected(scripts[i]!, maxAttempts);
          const row = await outboxOf(database.db, id);
          expect({ status: row.status, attempts: row.attempts }).toEqual(want);
          const decision = await decisionOf(database.db, id);
          expect(decision.status).toBe(want.status === 'delivered' ? 'executed' : 'failed');
          const sent = target.requests.filter((r) => r.body?.data?.decision_id === id);
          expect(sent).toHaveLength(want.attempts);
          for (const request of sent) {
            expect(request.headers['idempotency-key']).toBe(`fg-${id}-action`);
            expect(request.body.data.action).toEqual(decision.approved_action);
          }
        }
      },
    ),
    { numRuns: 25 },
  );
});
