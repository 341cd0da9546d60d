// The selling side of the simulated company: territories, teams, reps with their hidden true skill, SDR managers
// who review, and the product catalogue. This becomes the setup written to the database (not events).
import type { WorkingHours } from '../../db/schema.ts';
import type { Random } from './random.ts';
import {
  FIRST_NAMES,
  INDUSTRIES,
  LAST_NAMES,
  PRODUCTS,
  REGION_INFO,
  SIZE_BANDS,
  type ProductInfo,
  type Region,
  type SizeBand,
} from './reference-data.ts';

export const STAFF_EMAIL_DOMAIN = 'revenue-platform.example';

export interface SetupTerritory {
  name: string;
  region: Region;
  rules: { regions: Region[] };
}

export interface SetupTeam {
  name: string;
  territory: string;
  managerEmail: string;
}

export interface SetupUser {
  email: string;
  name: string;
  roles: ('rep' | 'reviewer')[];
  team: string | null;
  territory: string | null;
  managerEmail: string | null;
  capacity: number;
  skills: string[];
  timezone: string;
  workingHours: WorkingHours;
}

export interface SimulationSetup {
  territories: SetupTerritory[];
  teams: SetupTeam[];
  users: SetupUser[];
  products: ProductInfo[];
}

export interface RepTruth {
  email: string;
  name: string;
  region: Region;
  territory: string;
  declaredSkills: string[];
  capacity: number;
  /** The rep's true win-rate multiplier per segment (1 = average). Hidden from the data; recover it. */
  winRateMultiplier: Record<SizeBand, number>;
}

export interface Staff {
  setup: SimulationSetup;
  reps: RepTruth[];
  repsByRegion: Map<Region, RepTruth[]>;
}

export function buildStaff(rng: Random, regions: readonly Region[], repsPerRegion: number): Staff {
  const usedEmails = new Set<string>();
  const person = () => uniquePerson(rng, usedEmails);
  const territories: SetupTerritory[] = [];
  const teams: SetupTeam[] = [];
  const users: SetupUser[] = [];
  const reps: RepTruth[] = [];
  const repsByRegion = new Map<Region, RepTruth[]>();

  for (const region of regions) {
    const info = REGION_INFO[region];
    const territory = region;
    const team = `${region} Sales`;
    territories.push({ name: territory, region, rules: { regions: [region] } });
    const manager = person();
    teams.push({ name: team, territory, managerEmail: manager.email });
    users.push({
      ...manager,
      roles: ['reviewer'],
      team,
      territory,
      managerEmail: null,
      capacity: rng.int(40, 80),
      skills: ['sdr_management', ...rng.shuffle(SIZE_BANDS).slice(0, 1)],
      timezone: info.timezone,
      workingHours: info.workingHours,
    });
    const regionReps: RepTruth[] = [];
    for (let i = 0; i < repsPerRegion; i++) {
      const rep = person();
      const segments = rng.shuffle(SIZE_BANDS).slice(0, rng.int(1, 2));
      const industries = rng.shuffle(INDUSTRIES).slice(0, rng.int(1, 2));
      const capacity = rng.int(30, 80);
      const winRateMultiplier = Object.fromEntries(
        SIZE_BANDS.map((band) => {
          const centre = segments.includes(band) ? 0.12 : -0.05;
          return [band, round2(clamp(Math.exp(rng.normal(centre, 0.25)), 0.5, 1.8))];
        }),
      ) as Record<SizeBand, number>;
      users.push({
        ...rep,
        roles: ['rep'],
        team,
        territory,
        managerEmail: manager.email,
        capacity,
        skills: [...segments, ...industries],
        timezone: info.timezone,
        workingHours: info.workingHours,
      });
      const truth: RepTruth = {
        email: rep.email,
        name: rep.name,
        region,
        territory,
        declaredSkills: [...segments, ...industries],
        capacity,
        winRateMultiplier,
      };
      regionReps.push(truth);
      reps.push(truth);
    }
    repsByRegion.set(region, regionReps);
  }
  return {
    setup: { territories, teams, users, products: PRODUCTS.map((p) => ({ ...p })) },
    reps,
    repsByRegion,
  };
}

function uniquePerson(rng: Random, used: Set<string>): { email: string; name: string } {
  for (let n = 1; ; n++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const suffix = n > 3 ? String(n) : '';
    const email = `${first}.${last}${suffix}@${STAFF_EMAIL_DOMAIN}`.toLowerCase();
    if (!used.has(email)) {
      used.add(email);
      return { email, name: `${first} ${last}` };
    }
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
