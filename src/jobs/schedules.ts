// Recurring jobs, in code (graphile-worker cron; one run per slot across all workers).
import { parseCronItems, type ParsedCronItem } from 'graphile-worker';

export function schedules(): ParsedCronItem[] {
  return parseCronItems([
    // Nightly retraining at 03:17 UTC; a missed run is not backfilled (the next night trains on more data).
    {
      task: 'models.retrain',
      match: '17 3 * * *',
      identifier: 'nightly-retrain',
      options: { backfillPeriod: 0 },
      payload: { kind: 'gbt' },
    },
  ]);
}
