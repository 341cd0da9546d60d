import { Command } from 'commander';
import { migrateToLatest, migrationStatus } from '../../db/database.ts';
import { withDatabase } from '../context.ts';
import { printResult } from '../output.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Apply pending database migrations and exit (start and worker also do this at start-up)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(
        async ({ database, logger }) => {
          const results = await migrateToLatest(database.db, database.pool, logger);
          const appliedNow = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
          const status = { ...(await migrationStatus(database.db)), applied_now: appliedNow };
          printResult(
            Boolean(options.json),
            status,
            () =>
              `${appliedNow.length ? `Applied ${appliedNow.join(', ')}. ` : 'Nothing to apply. '}` +
              `Database is up to date: ${status.applied.length} migration(s) (latest: ${status.applied.at(-1) ?? 'none'}).`,
          );
        },
        {},
        { migrate: false },
      );
    });
}
