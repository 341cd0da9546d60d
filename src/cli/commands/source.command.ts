import { Command } from 'commander';
import { listMerges, unmerge } from '../../ingest/identity.ts';
import { createSource, listSources, rotateWebhookSecret } from '../../ingest/sources.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';

export function sourceCommand(): Command {
  const command = new Command('source').description(
    'Register event sources and manage their webhook secrets',
  );

  command
    .command('add')
    .description('Register a source; events from unregistered sources are quarantined')
    .argument('<name>', 'the CloudEvents "source" value, e.g. hubspot or crm/salesforce')
    .option('--timezone <zone>', 'IANA zone for local times without an offset (default UTC)')
    .option('--description <text>')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { timezone?: string; description?: string; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const source = await createSource(database.db, {
          name,
          ...(options.timezone ? { timezone: options.timezone } : {}),
          ...(options.description ? { description: options.description } : {}),
        });
        printResult(
          Boolean(options.json),
          source,
          () => `Registered source ${source.name} (time zone ${source.timezone}).`,
        );
      });
    });

  command
    .command('list')
    .description('List sources')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const sources = (await listSources(database.db)).map(({ secrets, ...s }) => ({
          ...s,
          webhook_secrets: Number(secrets ?? 0),
        }));
        printResult(Boolean(options.json), sources, () =>
          table(sources, ['name', 'timezone', 'active', 'webhook_secrets', 'created_at']),
        );
      });
    });

  command
    .command('rotate-secret')
    .description('Create a new webhook signing secret (printed once); older secrets stay valid for --overlap')
    .argument('<name>')
    .option(
      '--overlap <seconds>',
      'how long older secrets keep working',
      (v) => Number.parseInt(v, 10),
      86_400,
    )
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { overlap: number; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const { secret } = await rotateWebhookSecret(database.db, name, options.overlap);
        printResult(
          Boolean(options.json),
          { source: name, secret },
          () =>
            `New webhook secret for ${name} (shown only now):\n\n  ${secret}\n\nOlder secrets stay valid for ${options.overlap} s.`,
        );
      });
    });
  return command;
}

export function identityCommand(): Command {
  const command = new Command('identity').description('See and undo identity merges');

  command
    .command('merges')
    .description('List merges (newest first) with their evidence')
    .option('--entity <id>', 'only merges involving this contact or account id')
    .option('--json', 'print the result as JSON')
    .action(async (options: { entity?: string; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const merges = await listMerges(database.db, options.entity ? { entityId: options.entity } : {});
        printResult(Boolean(options.json), merges, () =>
          table(
            merges.map((m) => ({ ...m, evidence: JSON.stringify(m.evidence) })),
            ['id', 'kind', 'survivor_id', 'merged_id', 'merged_at', 'unmerged_at', 'evidence'],
          ),
        );
      });
    });

  command
    .command('unmerge')
    .description('Undo a merge: keys go back and events are re-attributed from their own identity keys')
    .argument('<merge-id>')
    .requiredOption('--reason <text>', 'why the merge was wrong (kept with the merge record)')
    .option('--json', 'print the result as JSON')
    .action(async (mergeId: string, options: { reason: string; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const merge = await unmerge(database.db, mergeId, 'cli', options.reason);
        printResult(
          Boolean(options.json),
          merge,
          () => `Undid merge ${merge.id}: ${merge.merged_id} is separate from ${merge.survivor_id} again.`,
        );
      });
    });
  return command;
}
