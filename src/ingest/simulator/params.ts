// What a simulation can be asked for. Every knob has a default except `now`: the generator never reads the
// clock, so the caller says what "now" is (the CLI passes the real time, tests pass fixed dates).
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { REGIONS } from './reference-data.ts';

export const OPPORTUNITY_STAGES = ['discovery', 'demo', 'proposal', 'negotiation'] as const;
export type OpenOpportunityStage = (typeof OPPORTUNITY_STAGES)[number];

export const bottleneckSchema = z.object({
  stage: z.enum(OPPORTUNITY_STAGES),
  region: z.enum(REGIONS),
  /** From when the stage slows down; default: 60 % of the way through the simulated period. */
  startDate: z.coerce.date().optional(),
  slowdownFactor: z.number().min(1).max(20).default(2.5),
  /** Multiplies the chance of passing the stage (a slow stage also loses a few more deals). */
  conversionFactor: z.number().min(0).max(1).default(0.85),
});
export type BottleneckInput = z.input<typeof bottleneckSchema>;

export const DEFAULT_BOTTLENECK = {
  stage: 'proposal',
  region: 'EMEA',
  slowdownFactor: 2.5,
  conversionFactor: 0.85,
} as const satisfies BottleneckInput;

export const simulationParamsSchema = z
  .object({
    seed: z.number().int().min(0).max(2_147_483_647).default(42),
    accounts: z.number().int().min(1).max(1_000_000).default(200),
    months: z.number().int().min(1).max(120).default(12),
    /** The end of the simulated period; nothing happens after it. */
    now: z.coerce.date(),
    /** Default: `months` calendar months before `now`. */
    startDate: z.coerce.date().optional(),
    source: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/, 'must be letters, digits and . _ : / -')
      .default('simulator'),
    regions: z
      .array(z.enum(REGIONS))
      .min(1)
      .default([...REGIONS])
      .refine((list) => new Set(list).size === list.length, 'regions must not repeat'),
    repsPerRegion: z.number().int().min(1).max(200).default(4),
    bottleneck: bottleneckSchema.nullable().default({ ...DEFAULT_BOTTLENECK }),
    seasonality: z.boolean().default(true),
    /** Planted trend: new accounts (and so new pipeline) arrive this much more often each quarter (0.1 = +10 %). */
    growthPerQuarter: z.number().min(-0.5).max(2).default(0),
  })
  .superRefine((params, ctx) => {
    if (params.bottleneck && !params.regions.includes(params.bottleneck.region)) {
      ctx.addIssue({
        code: 'custom',
        path: ['bottleneck', 'region'],
        message: `the bottleneck region ${params.bottleneck.region} is not one of the simulated regions (${params.regions.join(', ')})`,
      });
    }
    if (params.startDate && params.startDate.getTime() >= params.now.getTime()) {
      ctx.addIssue({ code: 'custom', path: ['startDate'], message: 'must be before now' });
    }
  });

export type SimulationParamsInput = z.input<typeof simulationParamsSchema>;
export type SimulationParams = z.output<typeof simulationParamsSchema>;

export interface ResolvedBottleneck {
  stage: OpenOpportunityStage;
  region: string;
  startDate: Date;
  slowdownFactor: number;
  conversionFactor: number;
}

export interface ResolvedParams extends Omit<SimulationParams, 'startDate' | 'bottleneck'> {
  startDate: Date;
  bottleneck: ResolvedBottleneck | null;
}

/** Parses the input and fills the defaults that depend on other values (start date, bottleneck date). */
export function resolveParams(input: SimulationParamsInput): ResolvedParams {
  const parsed = simulationParamsSchema.safeParse(input);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => ({
      field: i.path.join('.') || '(params)',
      message: i.message,
    }));
    throw new AppError(
      'validation_failed',
      `Invalid simulation parameters: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`,
      { fields },
    );
  }
  const params = parsed.data;
  const startDate = params.startDate ?? monthsBefore(params.now, params.months);
  const span = params.now.getTime() - startDate.getTime();
  const bottleneck = params.bottleneck
    ? {
        ...params.bottleneck,
        startDate: params.bottleneck.startDate ?? new Date(startDate.getTime() + Math.round(span * 0.6)),
      }
    : null;
  return { ...params, startDate, bottleneck };
}

export function monthsBefore(date: Date, months: number): Date {
  const result = new Date(date.getTime());
  const day = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() - months);
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
  result.setUTCDate(Math.min(day, lastDay));
  return result;
}
