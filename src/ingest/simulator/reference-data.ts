// The fixed vocabulary of the simulated world: regions, industries, names, titles, products, web pages.

export const REGIONS = ['NA', 'EMEA', 'APAC', 'LATAM'] as const;
export type Region = (typeof REGIONS)[number];

export interface RegionInfo {
  /** Share of accounts in this region (normalised over the regions simulated). */
  weight: number;
  countries: readonly { code: string; weight: number; tld: string }[];
  /** Where the reps sit. */
  timezone: string;
  /** Hours from UTC for business-hours placement (standard time; DST is ignored on purpose). */
  utcOffset: number;
  workingHours: { days: number[]; start: string; end: string };
}

export const REGION_INFO: Record<Region, RegionInfo> = {
  NA: {
    weight: 0.4,
    countries: [
      { code: 'US', weight: 0.85, tld: 'com' },
      { code: 'CA', weight: 0.15, tld: 'ca' },
    ],
    timezone: 'America/New_York',
    utcOffset: -5,
    workingHours: { days: [1, 2, 3, 4, 5], start: '08:30', end: '17:30' },
  },
  EMEA: {
    weight: 0.3,
    countries: [
      { code: 'GB', weight: 0.3, tld: 'co.uk' },
      { code: 'DE', weight: 0.25, tld: 'de' },
      { code: 'FR', weight: 0.15, tld: 'fr' },
      { code: 'NL', weight: 0.12, tld: 'nl' },
      { code: 'SE', weight: 0.08, tld: 'se' },
      { code: 'ES', weight: 0.1, tld: 'es' },
    ],
    timezone: 'Europe/Berlin',
    utcOffset: 1,
    workingHours: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:30' },
  },
  APAC: {
    weight: 0.18,
    countries: [
      { code: 'SG', weight: 0.25, tld: 'sg' },
      { code: 'AU', weight: 0.35, tld: 'com.au' },
      { code: 'JP', weight: 0.2, tld: 'jp' },
      { code: 'IN', weight: 0.2, tld: 'in' },
    ],
    timezone: 'Asia/Singapore',
    utcOffset: 8,
    workingHours: { days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' },
  },
  LATAM: {
    weight: 0.12,
    countries: [
      { code: 'BR', weight: 0.45, tld: 'com.br' },
      { code: 'MX', weight: 0.3, tld: 'mx' },
      { code: 'AR', weight: 0.12, tld: 'com.ar' },
      { code: 'CL', weight: 0.13, tld: 'cl' },
    ],
    timezone: 'America/Sao_Paulo',
    utcOffset: -3,
    workingHours: { days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' },
  },
};

export const SIZE_BANDS = ['smb', 'mid_market', 'enterprise'] as const;
export type SizeBand = (typeof SIZE_BANDS)[number];

/** Same thresholds as the ingestion projection (src/ingest/project.ts sizeBand). */
export const SIZE_BAND_INFO: Record<
  SizeBand,
  {
    weight: number;
    minEmployees: number;
    maxEmployees: number;
    medianEmployees: number;
    committee: [number, number];
  }
> = {
  smb: { weight: 0.55, minEmployees: 10, maxEmployees: 199, medianEmployees: 60, committee: [3, 4] },
  mid_market: { weight: 0.3, minEmployees: 200, maxEmployees: 999, medianEmployees: 420, committee: [4, 6] },
  enterprise: {
    weight: 0.15,
    minEmployees: 1000,
    maxEmployees: 60_000,
    medianEmployees: 4000,
    committee: [5, 8],
  },
};

export const INDUSTRIES = [
  'software',
  'fintech',
  'logistics',
  'healthcare',
  'manufacturing',
  'retail',
  'education',
  'media',
] as const;
export type Industry = (typeof INDUSTRIES)[number];
export const INDUSTRY_WEIGHTS = [0.2, 0.12, 0.1, 0.14, 0.15, 0.13, 0.08, 0.08];
/** The ideal customer profile: industries where the product fits best (a ground-truth driver). */
export const ICP_INDUSTRIES: readonly Industry[] = ['software', 'fintech', 'logistics'];
/** Revenue per employee (USD, median) by industry. */
export const REVENUE_PER_EMPLOYEE: Record<Industry, number> = {
  software: 230_000,
  fintech: 310_000,
  logistics: 160_000,
  healthcare: 140_000,
  manufacturing: 190_000,
  retail: 120_000,
  education: 90_000,
  media: 170_000,
};

export const COMPANY_PREFIXES = [
  'Acme',
  'Apex',
  'Blue',
  'Bright',
  'Cedar',
  'Clear',
  'Copper',
  'Crest',
  'Delta',
  'Ember',
  'Falcon',
  'Granite',
  'Harbor',
  'Helix',
  'Iron',
  'Juniper',
  'Keystone',
  'Lumen',
  'Maple',
  'Meridian',
  'Nimbus',
  'North',
  'Nova',
  'Oak',
  'Orbit',
  'Pine',
  'Polar',
  'Quartz',
  'Redwood',
  'River',
  'Sage',
  'Silver',
  'Summit',
  'Terra',
  'Tidal',
  'Vertex',
  'Vista',
  'Willow',
  'Zenith',
  'Zephyr',
];

export const COMPANY_SUFFIXES: Record<Industry, readonly string[]> = {
  software: ['Labs', 'Software', 'Systems', 'Cloud', 'Data', 'Works'],
  fintech: ['Pay', 'Capital', 'Ledger', 'Finance', 'Money'],
  logistics: ['Freight', 'Logistics', 'Shipping', 'Transit', 'Cargo'],
  healthcare: ['Health', 'Care', 'Medical', 'Clinics', 'Bio'],
  manufacturing: ['Industries', 'Manufacturing', 'Components', 'Machines', 'Metals'],
  retail: ['Retail', 'Goods', 'Stores', 'Market', 'Outfitters'],
  education: ['Learning', 'Academy', 'Education', 'Schools'],
  media: ['Media', 'Studios', 'Publishing', 'Broadcast'],
};

export const FIRST_NAMES = [
  'Ana',
  'Ben',
  'Carla',
  'David',
  'Elena',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'James',
  'Kavya',
  'Lars',
  'Maria',
  'Noah',
  'Olga',
  'Pedro',
  'Qing',
  'Rosa',
  'Sam',
  'Tomas',
  'Uma',
  'Victor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoe',
  'Amir',
  'Beatriz',
  'Chloe',
  'Diego',
  'Emma',
  'Felix',
  'Hannah',
  'Ivan',
  'Julia',
  'Kenji',
  'Lea',
  'Mateo',
  'Nina',
  'Oscar',
  'Priya',
  'Rahul',
  'Sofia',
  'Theo',
  'Valentina',
  'William',
];

export const LAST_NAMES = [
  'Silva',
  'Smith',
  'Muller',
  'Tanaka',
  'Garcia',
  'Johnson',
  'Rossi',
  'Dubois',
  'Nguyen',
  'Kowalski',
  'Andersson',
  'Patel',
  'Kim',
  'Lopez',
  'Brown',
  'Schmidt',
  'Martin',
  'Costa',
  'Ivanova',
  'Okafor',
  'Chen',
  'Jensen',
  'Moreau',
  'Sato',
  'Fernandez',
  'Wilson',
  'Becker',
  'Novak',
  'Haddad',
  'Reyes',
  'Singh',
  'Walker',
  'Yilmaz',
  'Larsen',
  'Romero',
  'Fischer',
];

export const SENIORITIES = ['c_level', 'vp', 'director', 'manager', 'individual'] as const;
export type Seniority = (typeof SENIORITIES)[number];
export const SENIORITY_WEIGHTS = [0.08, 0.14, 0.22, 0.3, 0.26];

export const TITLES: Record<Seniority, readonly { title: string; department: string }[]> = {
  c_level: [
    { title: 'Chief Executive Officer', department: 'executive' },
    { title: 'Chief Revenue Officer', department: 'sales' },
    { title: 'Chief Technology Officer', department: 'engineering' },
    { title: 'Chief Financial Officer', department: 'finance' },
    { title: 'Chief Marketing Officer', department: 'marketing' },
  ],
  vp: [
    { title: 'VP Sales', department: 'sales' },
    { title: 'VP Marketing', department: 'marketing' },
    { title: 'VP Engineering', department: 'engineering' },
    { title: 'VP Operations', department: 'operations' },
    { title: 'VP Revenue Operations', department: 'operations' },
  ],
  director: [
    { title: 'Director of Sales Operations', department: 'operations' },
    { title: 'Director of IT', department: 'it' },
    { title: 'Director of Demand Generation', department: 'marketing' },
    { title: 'Director of Finance', department: 'finance' },
    { title: 'Director of Sales', department: 'sales' },
  ],
  manager: [
    { title: 'Sales Manager', department: 'sales' },
    { title: 'Marketing Operations Manager', department: 'marketing' },
    { title: 'IT Manager', department: 'it' },
    { title: 'RevOps Manager', department: 'operations' },
    { title: 'Procurement Manager', department: 'finance' },
  ],
  individual: [
    { title: 'Sales Operations Analyst', department: 'operations' },
    { title: 'Account Executive', department: 'sales' },
    { title: 'Marketing Specialist', department: 'marketing' },
    { title: 'Data Analyst', department: 'it' },
    { title: 'Software Engineer', department: 'engineering' },
  ],
};

export const FREE_MAIL_PROVIDERS = [
  'gmail.com',
  'outlook.com',
  'yahoo.com',
  'hotmail.com',
  'icloud.com',
  'gmx.de',
];

export interface ProductInfo {
  sku: string;
  name: string;
  family: string;
  list_price: number;
}

export const PRODUCTS: readonly ProductInfo[] = [
  { sku: 'PLT-STARTER', name: 'Revenue Platform Starter', family: 'platform', list_price: 12_000 },
  { sku: 'PLT-GROWTH', name: 'Revenue Platform Growth', family: 'platform', list_price: 36_000 },
  { sku: 'PLT-ENTERPRISE', name: 'Revenue Platform Enterprise', family: 'platform', list_price: 120_000 },
  { sku: 'ADD-ANALYTICS', name: 'Advanced Analytics Add-on', family: 'add_on', list_price: 9_000 },
  { sku: 'ADD-ROUTING', name: 'Smart Routing Add-on', family: 'add_on', list_price: 7_500 },
  { sku: 'SVC-ONBOARDING', name: 'Onboarding Services', family: 'services', list_price: 15_000 },
];

/** Which platform edition each size band usually buys, and how far the amount strays from list. */
export const PRODUCT_MIX: Record<SizeBand, { skus: string[]; weights: number[]; seats: [number, number] }> = {
  smb: { skus: ['PLT-STARTER', 'PLT-GROWTH'], weights: [0.8, 0.2], seats: [0.8, 0.25] },
  mid_market: {
    skus: ['PLT-GROWTH', 'PLT-STARTER', 'PLT-ENTERPRISE'],
    weights: [0.7, 0.15, 0.15],
    seats: [1.1, 0.3],
  },
  enterprise: { skus: ['PLT-ENTERPRISE', 'PLT-GROWTH'], weights: [0.8, 0.2], seats: [1.6, 0.4] },
};
export const EXPANSION_SKUS = ['ADD-ANALYTICS', 'ADD-ROUTING', 'SVC-ONBOARDING'];

export const VENDOR_SITE = 'https://www.revenue-platform.example';

export const WEB_PAGES = {
  pricing: [{ path: '/pricing', title: 'Pricing' }],
  demo: [
    { path: '/demo', title: 'Book a demo' },
    { path: '/product/tour', title: 'Product tour' },
  ],
  docs: [
    { path: '/docs/getting-started', title: 'Getting started' },
    { path: '/docs/api', title: 'API reference' },
    { path: '/docs/integrations/salesforce', title: 'Salesforce integration' },
  ],
  blog: [
    { path: '/blog/pipeline-hygiene', title: 'Pipeline hygiene in five steps' },
    { path: '/blog/lead-scoring-myths', title: 'Lead scoring myths' },
    { path: '/blog/quarter-end-playbook', title: 'The quarter-end playbook' },
    { path: '/blog/revops-metrics', title: 'RevOps metrics that matter' },
  ],
  other: [
    { path: '/', title: 'Home' },
    { path: '/customers', title: 'Customers' },
    { path: '/product/routing', title: 'Routing' },
  ],
} as const;
export type PageKind = keyof typeof WEB_PAGES;

export const REFERRERS = [
  'https://www.google.com/',
  'https://www.linkedin.com/',
  'https://news.ycombinator.com/',
  'https://www.bing.com/',
];

export const USAGE_FEATURES = ['dashboards', 'lead_routing', 'scoring', 'api_calls', 'exports', 'sequences'];
export const TICKET_CATEGORIES = ['how_to', 'bug', 'integration', 'billing', 'access'];

/** Monthly weights for new-account arrivals (Jan..Dec): quiet August and late December, busy Q1 and autumn. */
export const MONTHLY_ARRIVAL_WEIGHTS = [1.15, 1.05, 1.1, 1.0, 1.0, 0.95, 0.85, 0.7, 1.1, 1.15, 1.05, 0.8];
