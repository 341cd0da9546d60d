import { Command } from 'commander';
import { migrateToLatest, migrationStatus } from '../../db/database.ts';
import { withDatabase } from '../context.ts';
import { printResult } from '../output.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Apply pending database migrations and exit (start and worker also do this at start-up)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const status = await migrationStatus(database.db);
        printResult(
          Boolean(options.json),
          status,
          () =>
            `Database is up to date: ${status.applied.length} migration(s) applied (latest: ${status.applied.at(-1) ?? 'none'}).`,
        );
      });
    });
}
