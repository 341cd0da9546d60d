// Shared by the execution tests: approved decisions made the real way (an active policy that executes
// automatically, submitProposal), contacts with CRM ids, and a local HTTP target that records every request and
// answers as the test tells it to.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { Action } from '../../src/agents/actions.ts';
import { submitProposal } from '../../src/agents/submit-proposal.ts';
import type { Db } from '../../src/db/database.ts';
import { runDeliveries, type DeliveryRunSummary } from '../../src/execution/deliver.ts';
import type { ExecutionSettings } from '../../src/execution/settings.ts';
import { parsePolicy } from '../../src/gates/policy.ts';

export const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/** Confident proposals execute automatically; the rest go to review. */
const POLICY = `
rules:
  - name: auto
    when: { confidence_at_least: 0.5 }
    then: { outcome: auto }
`;

export async function activateAutoPolicy(db: Db): Promise<void> {
  const existing = await db.selectFrom('policies').select('version').where('status', '=', 'active').execute();
  if (existing.length > 0) return;
  await db
    .insertInto('policies')
    .values({
      version: 1,
      document: POLICY,
      parsed: JSON.stringify(parsePolicy(POLICY)),
      status: 'active',
      reason: 'execution tests',
      proposed_by: 'test',
    })
    .execute();
}

export async function createContact(db: Db, crmIds: Record<string, string> = {}): Promise<string> {
  const email = `c-${randomUUID()}@acme.example`;
  const row = await db.insertInto('contacts').values({ email }).returning('id').executeTakeFirstOrThrow();
  for (const [source, id] of Object.entries(crmIds)) {
    await db
      .insertInto('identity_keys')
      .values({ kind: 'contact', key: `crm:${source}:${id}`, entity_id: row.id })
      .execute();
  }
  return row.id;
}

export async function contactEmail(db: Db, id: string): Promise<string> {
  const row = await db.selectFrom('contacts').select('email').where('id', '=', id).executeTakeFirstOrThrow();
  return row.email!;
}

export async function createOwner(db: Db): Promise<{ id: string; email: string }> {
  return db
    .insertInto('users')
    .values({ email: `rep-${randomUUID()}@seller.example`, name: 'Rep', roles: ['rep'] })
    .returning(['id', 'email'])
    .executeTakeFirstOrThrow();
}

/** A decision through the gate: confidence 0.9 executes automatically (outbox row written), 0.1 waits for review. */
export async function proposeDecision(
  db: Db,
  action: Action,
  options: { connector: string; confidence?: number; subjectId?: string },
): Promise<string> {
  await activateAutoPolicy(db);
  const result = await submitProposal(
    db,
    {
      agent: 'test-agent',
      agent_version: '1',
      subject_type: 'contact',
      subject_id: options.subjectId ?? (action.params['contact_id'] as string | undefined) ?? randomUUID(),
      action,
      action_kind: `${action.type}:${randomUUID()}`,
      confidence: options.confidence ?? 0.9,
      explanation: { summary: 'test' },
      dissent: 'it might be wrong',
      mitigations: ['it can be undone'],
      inputs: {},
    },
    { connector: options.connector },
  );
  return result.decision_id;
}

export function routing(contactId: string, ownerId: string, previousOwnerId: string | null = null): Action {
  return {
    type: 'lead.assign_owner',
    params: { contact_id: contactId, owner_id: ownerId, previous_owner_id: previousOwnerId },
  };
}

export function testSettings(
  targetUrl: string,
  overrides: Partial<ExecutionSettings> = {},
): ExecutionSettings {
  return {
    maxAttempts: 8,
    visibilityTimeoutMs: 10_000,
    requestTimeoutMs: 2000,
    backoff: { baseMs: 20, capMs: 200 },
    breaker: { threshold: 5, cooldownMs: 60_000 },
    connectors: {
      webhook: { url: `${targetUrl}/hooks/funnelgate`, secret: WEBHOOK_SECRET },
      hubspot: { url: targetUrl, token: 'hs-test-token', source: 'hubspot' },
      salesforce: { url: `${targetUrl}/`, token: 'sf-test-token', source: 'salesforce' },
    },
    ...overrides,
  };
}

/** Makes every waiting retry due now (instead of sleeping through the backoff). */
export async function fastForward(db: Db): Promise<void> {
  await sql`update outbox set next_attempt_at = now() where status = 'pending'`.execute(db);
}

/** Runs the loop, fast-forwarding backoffs, until nothing is pending or `rounds` runs are done. */
export async function deliverUntilSettled(
  db: Db,
  settings: ExecutionSettings,
  rounds = 20,
): Promise<DeliveryRunSummary[]> {
  const runs: DeliveryRunSummary[] = [];
  for (let i = 0; i < rounds; i++) {
    runs.push(await runDeliveries(db, settings));
    const left = await db
      .selectFrom('outbox')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('status', 'in', ['pending', 'delivering'])
      .executeTakeFirstOrThrow();
    if (left.n === 0) break;
    await fastForward(db);
  }
  return runs;
}

export async function outboxOf(db: Db, decisionId: string, kind: 'action' | 'compensation' = 'action') {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where('decision_id', '=', decisionId)
    .where('kind', '=', kind)
    .executeTakeFirstOrThrow();
}

export async function decisionOf(db: Db, id: string) {
  return db.selectFrom('decisions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer after this long (a slow target). */
  delayMs?: number;
}

export interface Target {
  url: string;
  requests: RecordedRequest[];
  /** How the target answers; default 200 { ok: true }. */
  answer: (request: RecordedRequest) => Answer | Promise<Answer>;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const target: Target = {
    url: '',
    requests: [],
    answer: () => ({ status: 200, body: { ok: true } }),
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        // kept as text
      }
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        raw,
        body,
      };
      target.requests.push(recorded);
      void Promise.resolve(target.answer(recorded)).then((answer) => {
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
          res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
        else send();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  target.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return target;
}
