// The opportunities of a simulated world read straight from its events, without a database: fast enough to
// check the pure bottleneck and forecast code on several seeds. The database path is tested separately.
import type { StageEntry } from '../../src/agents/bottleneck/detect.ts';
import type { OpportunityHistory } from '../../src/agents/forecast/history.ts';
import { simulateFunnel, type SimulatedFunnel } from '../../src/ingest/simulator/generate.ts';
import type { SimulationParamsInput } from '../../src/ingest/simulator/params.ts';

type Data = Record<string, any>;

export function simulatedOpportunities(params: SimulationParamsInput): {
  funnel: SimulatedFunnel;
  opportunities: OpportunityHistory[];
} {
  const funnel = simulateFunnel(params);
  const accounts = new Map<string, { region: string; segment: string }>();
  const opportunities = new Map<string, OpportunityHistory>();
  for (const event of funnel.events()) {
    const d = event.data as Data;
    const at = Date.parse(event.time!);
    if (event.type === 'crm.account.created') {
      accounts.set(d.account.crm_id, { region: d.region, segment: d.attributes?.size_band ?? 'unknown' });
    } else if (event.type === 'crm.opportunity.created') {
      const account = accounts.get(d.account.crm_id);
      opportunities.set(d.opportunity.crm_id, {
        id: d.opportunity.crm_id,
        name: d.name,
        openedAt: at,
        closedAt: null,
        status: 'open',
        segment: account?.segment ?? 'unknown',
        region: account?.region ?? 'unknown',
        owner: d.owner_email,
        ownerId: null,
        product: d.product_sku,
        stages: [{ stage: d.stage, at }],
        amounts: [{ amount: d.amount, at }],
        activity: [],
      });
    } else if (event.type === 'crm.opportunity.stage_changed') {
      const o = opportunities.get(d.opportunity.crm_id)!;
      o.stages.push({ stage: d.to_stage, at });
      if (d.amount !== undefined) o.amounts.push({ amount: d.amount, at });
      if (d.status !== 'open') {
        o.status = d.status;
        o.closedAt = at;
      }
    }
  }
  return { funnel, opportunities: [...opportunities.values()] };
}

const LOSS = new Set(['closed_lost']);
const FINAL = new Set(['closed_won', 'closed_lost']);

export function stageEntriesOf(opportunities: readonly OpportunityHistory[]): StageEntry[] {
  const entries: StageEntry[] = [];
  for (const o of opportunities) {
    o.stages.forEach((s, i) => {
      if (FINAL.has(s.stage)) return;
      const next = o.stages[i + 1];
      entries.push({
        subjectId: o.id,
        stage: s.stage,
        enteredAt: s.at,
        leftAt: next?.at ?? null,
        outcome: !next ? 'open' : LOSS.has(next.stage) ? 'lost' : 'advanced',
        segment: o.segment,
        region: o.region,
        owner: o.owner,
        ownerId: null,
        product: o.product,
        amount: o.amounts.at(-1)?.amount ?? null,
      });
    });
  }
  return entries;
}
