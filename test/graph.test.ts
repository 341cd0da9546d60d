// The knowledge graph on a simulated world: projection counts, idempotent re-sync, incremental sync reaching the
// same graph as a full one after a contact moves and accounts merge, the neighbourhood API, graph features on
// planted cases (related outcomes, point in time, committees), PageRank, and the refresh jobs on a real worker.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from 'graphile-worker';
import { workerLogger, type Db } from '../src/db/database.ts';
import { computeGraphFeatures } from '../src/graph/graph-features.ts';
import { enqueueGraphRefresh, graphJobs } from '../src/graph/graph.jobs.ts';
import { syncGraph } from '../src/graph/sync-graph.ts';
import { mergeEntities } from '../src/ingest/identity.ts';
import { inProcessSink, runSimulation } from '../src/ingest/simulator/run.ts';
import { buildTaskList } from '../src/jobs/task-list.ts';
import { createLogger } from '../src/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const NOW = new Date('2026-06-01T00:00:00Z');

let database: TestDatabase;
let server: TestServer;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  server = await startTestServer(database);
  await runSimulation({
    db,
    params: { seed: 11, accounts: 40, months: 6, now: NOW },
    sink: inProcessSink(db),
  });
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

async function count(query: ReturnType<typeof sql<{ n: string }>>): Promise<number> {
  const result = await query.execute(db);
  return Number(result.rows[0]!.n);
}

async function edgeCount(type: string, fromType: string, toType: string): Promise<number> {
  return count(sql<{ n: string }>`
    select count(*) as n from graph_edges e
      join graph_nodes f on f.id = e.from_node join graph_nodes t on t.id = e.to_node
    where e.type = ${type} and f.type = ${fromType} and t.type = ${toType}`);
}

async function nodeId(type: string, refId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('graph_nodes')
    .select('id')
    .where('type', '=', type as 'account')
    .where('ref_id', '=', refId)
    .executeTakeFirst();
  return row?.id;
}

/** Every node and edge by its natural key, to compare two graphs. */
async function snapshot(): Promise<{ nodes: string[]; edges: string[] }> {
  const nodes = await sql<{ key: string }>`
    select type || ':' || ref_id || ':' || label || ':' || properties::text as key from graph_nodes order by 1`.execute(
    db,
  );
  const edges = await sql<{ key: string }>`
    select e.type || ':' || f.type || ':' || f.ref_id || '->' || t.type || ':' || t.ref_id || ':' || e.weight
           || ':' || e.properties::text || ':' || coalesce(e.valid_from::text, '') as key
    from graph_edges e join graph_nodes f on f.id = e.from_node join graph_nodes t on t.id = e.to_node
    order by 1`.execute(db);
  return { nodes: nodes.rows.map((r) => r.key), edges: edges.rows.map((r) => r.key) };
}

describe('graph sync', () => {
  it('projects the simulated world into nodes and edges', async () => {
    const result = await syncGraph(db);
    expect(result.mode).toBe('full');
    const live = (table: 'accounts' | 'contacts') =>
      count(sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where merged_into_id is null`);
    expect(result.nodes.account).toBe(await live('accounts'));
    expect(result.nodes.contact).toBe(await live('contacts'));
    expect(result.nodes.opportunity).toBe(await count(sql`select count(*) as n from opportunities`));
    expect(result.nodes.product).toBe(await count(sql`select count(*) as n from products`));
    expect(result.nodes.industry).toBe(
      await count(
        sql`select count(distinct industry) as n from accounts where merged_into_id is null and industry is not null`,
      ),
    );
    expect(result.nodes.rep).toBeGreaterThan(0);
    expect(result.nodes.account).toBe(40);

    // One works_at per live contact with an account; one involved_in per opportunity and per contact link.
    expect(await edgeCount('works_at', 'contact', 'account')).toBe(
      await count(
        sql`select count(*) as n from contacts where merged_into_id is null and account_id is not null`,
      ),
    );
    expect(await edgeCount('involved_in', 'account', 'opportunity')).toBe(
      await count(sql`select count(*) as n from opportunities where account_id is not null`),
    );
    expect(await edgeCount('involved_in', 'contact', 'opportunity')).toBe(
      await count(sql`select count(*) as n from opportunity_contacts`),
    );
    expect(await edgeCount('parent_of', 'account', 'account')).toBe(
      await count(
        sql`select count(*) as n from accounts where merged_into_id is null and parent_id is not null`,
      ),
    );
    expect(await edgeCount('in_industry', 'account', 'industry')).toBe(40);
    expect(await edgeCount('owns', 'rep', 'opportunity')).toBe(
      await count(sql`select count(*) as n from opportunities where owner_id is not null`),
    );
    expect(await edgeCount('interested_in', 'account', 'product')).toBe(
      await count(
        sql`select count(distinct (account_id, product_id)) as n from opportunities where product_id is not null`,
      ),
    );
    // interested_in weighs an account's opportunities for the product.
    expect(
      await count(sql`select coalesce(sum(e.weight), 0)::int as n from graph_edges e
        join graph_nodes f on f.id = e.from_node where e.type = 'interested_in' and f.type = 'account'`),
    ).toBe(await count(sql`select count(*) as n from opportunities where product_id is not null`));
  });

  it('links each account to at most five similar accounts of its own industry', async () => {
    const similar = await sql<{ from_id: string; to_id: string; weight: number; a: string; b: string }>`
      select f.ref_id as from_id, t.ref_id as to_id, e.weight, fa.industry as a, ta.industry as b
      from graph_edges e
        join graph_nodes f on f.id = e.from_node join graph_nodes t on t.id = e.to_node
        join accounts fa on fa.id::text = f.ref_id join accounts ta on ta.id::text = t.ref_id
      where e.type = 'similar_to'`.execute(db);
    expect(similar.rows.length).toBeGreaterThan(40);
    const perAccount = new Map<string, number>();
    for (const edge of similar.rows) {
      expect(edge.a).toBe(edge.b);
      expect(edge.from_id).not.toBe(edge.to_id);
      expect(edge.weight).toBeGreaterThan(0);
      expect(edge.weight).toBeLessThanOrEqual(1);
      perAccount.set(edge.from_id, (perAccount.get(edge.from_id) ?? 0) + 1);
    }
    expect(Math.max(...perAccount.values())).toBeLessThanOrEqual(5);
  });

  it('writes nothing the second time and keeps the same graph', async () => {
    const before = await snapshot();
    const again = await syncGraph(db);
    expect(again).toMatchObject({ nodesWritten: 0, nodesDeleted: 0, edgesWritten: 0, edgesDeleted: 0 });
    expect(await snapshot()).toEqual(before);
    const incremental = await syncGraph(db, { since: new Date(Date.now() - 3600_000) });
    expect(incremental).toMatchObject({ mode: 'incremental', edgesWritten: 0, edgesDeleted: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it('follows a contact to its new account and merged accounts to their survivor, incrementally', async () => {
    const since = new Date();
    const accounts = await sql<{ id: string; contacts: string }>`
      select a.id, count(c.id) as contacts from accounts a join contacts c on c.account_id = a.id
      where a.merged_into_id is null and c.merged_into_id is null
      group by a.id having count(c.id) >= 2 order by a.id limit 4`.execute(db);
    const [from, to, survivor, merged] = accounts.rows.map((r) => r.id) as [string, string, string, string];
    const contact = await db
      .selectFrom('contacts')
      .select('id')
      .where('account_id', '=', from)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const mergedContacts = await db
      .selectFrom('contacts')
      .select('id')
      .where('account_id', '=', merged)
      .where('merged_into_id', 'is', null)
      .execute();

    await db
      .updateTable('contacts')
      .set({ account_id: to, updated_at: new Date() })
      .where('id', '=', contact.id)
      .execute();
    await db.transaction().execute((trx) => mergeEntities(trx, 'account', survivor, merged, { test: true }));

    const result = await syncGraph(db, { since });
    expect(result.mode).toBe('incremental');
    expect(result.scope!.account).toBeLessThan(5);
    expect(result.nodes.account).toBe(39);
    const worksAt = await sql<{ account: string }>`
      select t.ref_id as account from graph_edges e
        join graph_nodes f on f.id = e.from_node join graph_nodes t on t.id = e.to_node
      where e.type = 'works_at' and f.ref_id = ${contact.id}`.execute(db);
    expect(worksAt.rows).toEqual([{ account: to }]);
    expect(await nodeId('account', merged)).toBeUndefined();
    for (const moved of mergedContacts) {
      const edge = await sql<{ account: string }>`
        select t.ref_id as account from graph_edges e
          join graph_nodes f on f.id = e.from_node join graph_nodes t on t.id = e.to_node
        where e.type = 'works_at' and f.ref_id = ${moved.id}`.execute(db);
      expect(edge.rows).toEqual([{ account: survivor }]);
    }
    // The incremental sync left nothing for a full sync to do.
    const incrementalGraph = await snapshot();
    const full = await syncGraph(db);
    expect(full).toMatchObject({ nodesWritten: 0, nodesDeleted: 0, edgesWritten: 0, edgesDeleted: 0 });
    expect(await snapshot()).toEqual(incrementalGraph);
  });
  it('reaches by an incremental sync the graph a full sync would give, whatever changed', async () => {
    const since = new Date();
    const now = () => new Date();
    // An account others point at as similar leaves its industry X for Y; every other change happens in other
    // industries, so only the graph remembers that X's similar accounts must be recomputed.
    const moved = await sql<{ id: string; industry: string }>`
      select a.id, a.industry from graph_edges e
        join graph_nodes t on t.id = e.to_node join accounts a on a.id::text = t.ref_id
      where e.type = 'similar_to' order by a.id limit 1`
      .execute(db)
      .then((r) => r.rows[0]!);
    const industries = await sql<{ industry: string }>`
      select distinct industry from accounts where merged_into_id is null and industry <> ${moved.industry}
      order by industry`.execute(db);
    const newIndustry = industries.rows[0]!.industry;
    const elsewhere = await sql<{ id: string }>`
      select id from accounts
      where merged_into_id is null and industry not in (${moved.industry}, ${newIndustry}) order by id`.execute(
      db,
    );
    const [child, parent, target] = elsewhere.rows.map((r) => r.id) as [string, string, string];
    await db
      .updateTable('accounts')
      .set({ industry: newIndustry, updated_at: now() })
      .where('id', '=', moved.id)
      .execute();
    // An account gets a parent.
    await db
      .updateTable('accounts')
      .set({ parent_id: parent, updated_at: now() })
      .where('id', '=', child)
      .execute();
    // An opportunity moves to another account, for another product, with another owner.
    const opportunity = await sql<{ id: string; product_id: string; owner_id: string }>`
      select o.id, o.product_id, o.owner_id from opportunities o join accounts a on a.id = o.account_id
      where o.product_id is not null and o.owner_id is not null and o.account_id <> ${target}
        and a.industry not in (${moved.industry}, ${newIndustry})
      order by o.id limit 1`
      .execute(db)
      .then((r) => r.rows[0]!);
    const [product, owner] = await Promise.all([
      db
        .selectFrom('products')
        .select('id')
        .where('id', '<>', opportunity.product_id)
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('users')
        .select('id')
        .where(sql<boolean>`'rep' = any(roles)`)
        .where('id', '<>', opportunity.owner_id)
        .executeTakeFirstOrThrow(),
    ]);
    await db
      .updateTable('opportunities')
      .set({ account_id: target, product_id: product.id, owner_id: owner.id, updated_at: now() })
      .where('id', '=', opportunity.id)
      .execute();

    const incremental = await syncGraph(db, { since });
    expect(incremental.scope!.account).toBeLessThan(10);
    expect(incremental.edgesWritten + incremental.edgesDeleted).toBeGreaterThan(0);
    const afterIncremental = await snapshot();
    const full = await syncGraph(db);
    expect(full).toMatchObject({ nodesWritten: 0, nodesDeleted: 0, edgesWritten: 0, edgesDeleted: 0 });
    expect(await snapshot()).toEqual(afterIncremental);
  });
});

describe('GET /v1/graph/:type/:id', () => {
  let edges: { from_node: string; to_node: string }[];
  let account: { id: string; ref_id: string };

  /** The expected neighbourhood, by a plain BFS over every edge. */
  function expectedWithin(root: string, depth: number): Set<string> {
    const seen = new Set([root]);
    let frontier = [root];
    for (let d = 0; d < depth; d++) {
      const next: string[] = [];
      for (const edge of edges) {
        for (const [a, b] of [
          [edge.from_node, edge.to_node],
          [edge.to_node, edge.from_node],
        ] as const) {
          if (frontier.includes(a) && !seen.has(b)) {
            seen.add(b);
            next.push(b);
          }
        }
      }
      frontier = next;
    }
    return seen;
  }

  beforeAll(async () => {
    edges = await db.selectFrom('graph_edges').select(['from_node', 'to_node']).execute();
    account = await sql<{ id: string; ref_id: string }>`
      select n.id, n.ref_id from graph_nodes n join graph_edges e on e.from_node = n.id
      where n.type = 'account' and e.type = 'involved_in' order by n.ref_id limit 1`
      .execute(db)
      .then((r) => r.rows[0]!);
  });

  it('returns the nodes one and two hops away, to an analyst', async () => {
    const token = await server.tokenFor('analyst');
    const one = await server.request(`/v1/graph/account/${account.ref_id}?depth=1`, { token });
    expect(one.status).toBe(200);
    expect(one.body.root).toMatchObject({
      id: account.id,
      type: 'account',
      ref_id: account.ref_id,
      depth: 0,
    });
    expect(new Set(one.body.nodes.map((n: any) => n.id))).toEqual(expectedWithin(account.id, 1));
    expect(one.body.truncated).toBe(false);
    const types = new Set(one.body.nodes.map((n: any) => n.type));
    for (const type of ['account', 'contact', 'opportunity', 'industry', 'rep'])
      expect(types).toContain(type);
    // Every edge returned joins two returned nodes, and every edge between them is returned.
    const ids = new Set(one.body.nodes.map((n: any) => n.id));
    const between = edges.filter((e) => ids.has(e.from_node) && ids.has(e.to_node));
    expect(one.body.edges).toHaveLength(between.length);

    const two = await server.request(`/v1/graph/account/${account.ref_id}?limit=1000`, { token });
    expect(two.status).toBe(200);
    const expected = expectedWithin(account.id, 2);
    expect(expected.size).toBeLessThan(1000);
    expect(new Set(two.body.nodes.map((n: any) => n.id))).toEqual(expected);
    expect(Math.max(...two.body.nodes.map((n: any) => n.depth))).toBe(2);
  });

  it('stops at the node limit and says so', async () => {
    const token = await server.tokenFor('analyst');
    const limited = await server.request(`/v1/graph/account/${account.ref_id}?depth=2&limit=5`, { token });
    expect(limited.status).toBe(200);
    expect(limited.body.nodes).toHaveLength(5);
    expect(limited.body.truncated).toBe(true);
  });

  it('finds an industry by its name', async () => {
    const industry = await db
      .selectFrom('graph_nodes')
      .select('ref_id')
      .where('type', '=', 'industry')
      .executeTakeFirstOrThrow();
    const response = await server.request(
      `/v1/graph/industry/${encodeURIComponent(industry.ref_id)}?depth=1`,
      { token: await server.tokenFor('rep') },
    );
    expect(response.status).toBe(200);
    expect(response.body.nodes.filter((n: any) => n.type === 'account').length).toBeGreaterThan(0);
  });

  it('refuses without a token, names a bad field, and 404s an unknown entity', async () => {
    const token = await server.tokenFor('analyst');
    expect((await server.request(`/v1/graph/account/${account.ref_id}`)).status).toBe(401);
    const badDepth = await server.request(`/v1/graph/account/${account.ref_id}?depth=7`, { token });
    expect(badDepth.status).toBe(400);
    expect(badDepth.body.error.code).toBe('validation_failed');
    expect(badDepth.body.error.message).toContain('depth');
    const badType = await server.request(`/v1/graph/planet/${account.ref_id}`, { token });
    expect(badType.status).toBe(400);
    expect(badType.body.error.message).toContain('type');
    const badId = await server.request('/v1/graph/contact/not-a-uuid', { token });
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toContain('id');
    const unknown = await server.request('/v1/graph/account/00000000-0000-4000-8000-000000000000', { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'not_found' });
    const openapi = await server.request('/openapi.json', { token });
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining(['/v1/graph/{type}/{id}', '/v1/graph/features/{type}/{id}']),
    );
  });
});

describe('graph features', () => {
  const AS_OF = NOW;
  const ids: Record<string, string> = {};

  async function account(name: string, industry: string, parentId: string | null = null): Promise<string> {
    const row = await db
      .insertInto('accounts')
      .values({ name, industry, employees: 200, size_band: 'mid_market', parent_id: parentId })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function opportunity(
    accountId: string,
    status: 'open' | 'won' | 'lost',
    openedAt: string,
    closedAt: string | null,
  ): Promise<string> {
    const row = await db
      .insertInto('opportunities')
      .values({
        account_id: accountId,
        name: `planted ${status}`,
        stage: status === 'open' ? 'proposal' : `closed_${status}`,
        status,
        amount: 1000,
        opened_at: openedAt,
        closed_at: closedAt ? new Date(closedAt) : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function contact(accountId: string, seniority: string | null, department: string | null) {
    const row = await db
      .insertInto('contacts')
      .values({ account_id: accountId, seniority, department, first_name: seniority ?? 'unknown' })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  function valuesOf(
    features: { entityType: string; entityId: string; name: string; value: number }[],
    type: string,
    id: string,
  ): Record<string, number> {
    return Object.fromEntries(
      features.filter((f) => f.entityType === type && f.entityId === id).map((f) => [f.name, f.value]),
    );
  }

  beforeAll(async () => {
    // Two corporate families in industries of their own: the winner's parent won 3 of 3, the loser's lost 3.
    ids.winnerParent = await account('Winner Holdings', 'planted-winners');
    ids.winner = await account('Winner Subsidiary', 'planted-winners', ids.winnerParent);
    ids.loserParent = await account('Loser Holdings', 'planted-losers');
    ids.loser = await account('Loser Subsidiary', 'planted-losers', ids.loserParent);
    for (const month of ['01', '02', '03']) {
      await opportunity(ids.winnerParent, 'won', `2026-${month}-01T00:00:00Z`, `2026-${month}-20T00:00:00Z`);
      await opportunity(ids.loserParent, 'lost', `2026-${month}-01T00:00:00Z`, `2026-${month}-20T00:00:00Z`);
    }
    // Won, but only after AS_OF: must not count as of AS_OF.
    await opportunity(ids.loserParent, 'won', '2026-04-01T00:00:00Z', '2026-06-15T00:00:00Z');

    // A buying committee on an opportunity open at AS_OF.
    ids.deal = await opportunity(ids.winner, 'open', '2026-05-01T00:00:00Z', null);
    const members = [
      await contact(ids.winner, 'c_level', 'finance'),
      await contact(ids.winner, 'director', 'it'),
      await contact(ids.winner, 'individual', 'engineering'),
      await contact(ids.winner, null, null),
    ];
    ids.cfo = members[0]!;
    // An opportunity opened after AS_OF with a VP: invisible as of AS_OF.
    ids.lateDeal = await opportunity(ids.loser, 'open', '2026-06-10T00:00:00Z', null);
    const vp = await contact(ids.loser, 'vp', 'sales');
    await db
      .insertInto('opportunity_contacts')
      .values([
        ...members.map((contactId) => ({ opportunity_id: ids.deal!, contact_id: contactId, role: null })),
        { opportunity_id: ids.lateDeal, contact_id: vp, role: 'decision_maker' },
      ])
      .execute();
    await syncGraph(db);
  });

  it('gives an account whose parent won a higher related-outcome feature than one whose parent lost', async () => {
    const { features } = await computeGraphFeatures(db, { asOf: AS_OF, write: false });
    const winner = valuesOf(features, 'account', ids.winner!);
    const loser = valuesOf(features, 'account', ids.loser!);
    expect(winner.family_won_deals).toBe(3);
    expect(winner.family_closed_deals).toBe(3);
    expect(loser.family_won_deals).toBe(0);
    expect(loser.family_closed_deals).toBe(3);
    expect(winner.family_win_rate).toBeGreaterThan(loser.family_win_rate!);
    expect(winner.related_win_rate).toBeGreaterThan(loser.related_win_rate!);
    // Smoothed: three deals do not make a certainty.
    expect(winner.family_win_rate).toBeLessThan(1);
    expect(loser.family_win_rate).toBeGreaterThan(0);
    // With no related deals an account sits at the prior, between the two.
    const parent = valuesOf(features, 'account', ids.winnerParent!);
    expect(parent.family_closed_deals).toBe(0);
  });

  it('counts only what was known as of the moment asked for', async () => {
    const before = await computeGraphFeatures(db, { asOf: AS_OF, write: false });
    const after = await computeGraphFeatures(db, { asOf: new Date('2026-07-01T00:00:00Z'), write: false });
    expect(valuesOf(before.features, 'account', ids.loser!)).toMatchObject({
      family_won_deals: 0,
      open_opportunities: 0,
      committee_has_executive: 0,
    });
    expect(valuesOf(after.features, 'account', ids.loser!)).toMatchObject({
      family_won_deals: 1,
      family_closed_deals: 4,
      open_opportunities: 1,
      committee_has_executive: 1,
    });
    expect(valuesOf(before.features, 'opportunity', ids.lateDeal!)).toEqual({});
    expect(valuesOf(after.features, 'opportunity', ids.lateDeal!)).toMatchObject({ committee_size: 1 });
  });

  it('describes the buying committee of an opportunity and its account', async () => {
    const { features } = await computeGraphFeatures(db, { asOf: AS_OF, write: false });
    expect(valuesOf(features, 'opportunity', ids.deal!)).toEqual({
      committee_size: 4,
      committee_seniorities: 3,
      committee_departments: 3,
      committee_has_executive: 1,
      seniority_coverage: 1,
    });
    expect(valuesOf(features, 'account', ids.winner!)).toMatchObject({
      contacts: 4,
      open_opportunities: 1,
      committee_contacts: 4,
      committee_has_executive: 1,
    });
    // A contact carries its account's values and its own degree.
    const cfo = valuesOf(features, 'contact', ids.cfo!);
    expect(cfo).toMatchObject({ account_committee_contacts: 4, open_opportunities: 1, degree: 2 });
    expect(cfo.account_family_win_rate).toBe(valuesOf(features, 'account', ids.winner!).family_win_rate);
  });

  it('stores PageRank over the account graph summing to one, served by the API', async () => {
    const result = await computeGraphFeatures(db, { asOf: AS_OF });
    expect(result.written).toBe(result.features.length);
    const pagerank = await db
      .selectFrom('graph_features')
      .select(['value', 'version', 'as_of'])
      .where('entity_type', '=', 'account')
      .where('name', '=', 'pagerank')
      .execute();
    expect(pagerank).toHaveLength(
      await count(sql`select count(*) as n from graph_nodes where type = 'account'`),
    );
    expect(pagerank.reduce((sum, row) => sum + row.value, 0)).toBeCloseTo(1, 6);
    expect(pagerank.every((row) => row.value > 0 && row.version === 'graph-v1')).toBe(true);
    expect(pagerank[0]!.as_of.toISOString()).toBe(AS_OF.toISOString());

    const token = await server.tokenFor('analyst');
    const response = await server.request(`/v1/graph/features/account/${ids.winner}`, { token });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      entity_type: 'account',
      entity_id: ids.winner,
      version: 'graph-v1',
      features: { committee_contacts: 4, open_opportunities: 1 },
    });
    expect(response.body.features.pagerank).toBeGreaterThan(0);
    const missing = await server.request('/v1/graph/features/account/00000000-0000-4000-8000-000000000000', {
      token,
    });
    expect(missing.status).toBe(404);
  });
});

describe('refresh jobs', () => {
  it('collapse a burst into one sync, then compute the features', async () => {
    await db.deleteFrom('graph_features').execute();
    for (let i = 0; i < 3; i++) await enqueueGraphRefresh(db, { delayMs: 0 });
    expect(
      await count(sql`select count(*) as n from graphile_worker.jobs where task_identifier = 'graph.sync'`),
    ).toBe(1);
    // runOnce works the queue until it is empty, including the features job the sync enqueues.
    const logger = createLogger({ logLevel: 'silent' });
    await runOnce({
      pgPool: database.pool,
      taskList: buildTaskList(graphJobs, { db, logger }),
      logger: workerLogger(logger),
      // As in jobs/worker.ts: without batchers runOnce can resolve before the last completion is written.
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    });
    const left =
      await sql`select task_identifier, attempts, last_error, run_at from graphile_worker.jobs where task_identifier like 'graph.%'`.execute(
        db,
      );
    expect(left.rows).toEqual([]);
    expect(await count(sql`select count(*) as n from graph_features where name = 'pagerank'`)).toBe(
      await count(sql`select count(*) as n from graph_nodes where type = 'account'`),
    );
  });
});
