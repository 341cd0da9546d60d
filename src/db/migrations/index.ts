// The ordered list of migrations. A static list (not a directory scan) so the set is explicit and type-checked.
import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_ingestion.ts';
import * as m0003 from './0003_features_models.ts';
import * as m0004 from './0004_graph.ts';
import * as m0005 from './0005_decisions.ts';
import * as m0006 from './0006_sessions.ts';
import * as m0007 from './0007_feedback.ts';
import * as m0008 from './0008_forecasts.ts';
import * as m0009 from './0009_event_store_indexes.ts';
import * as m0010 from './0010_identity_key_generation.ts';
import * as m0011 from './0011_lock_and_read_identity_keys.ts';

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_ingestion': m0002,
  '0003_features_models': m0003,
  '0004_graph': m0004,
  '0005_decisions': m0005,
  '0006_sessions': m0006,
  '0007_feedback': m0007,
  '0008_forecasts': m0008,
  '0009_event_store_indexes': m0009,
  '0010_identity_key_generation': m0010,
  '0011_lock_and_read_identity_keys': m0011,
};
