// The ordered list of migrations. A static list (not a directory scan) so the set is explicit and type-checked.
import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_ingestion.ts';

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_ingestion': m0002,
};
