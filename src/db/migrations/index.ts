// The ordered list of migrations. A static list (not a directory scan) so the set is explicit and type-checked.
import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.ts';

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
};
