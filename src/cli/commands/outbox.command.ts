import { Command, Option } from 'commander';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { listOutbox, OUTBOX_STATUSES, type OutboxStatus } from '../../execution/list-outbox.ts';
import { replayDelivery } from '../../execution/replay-delivery.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';

export function outboxCommand(): Command {
  const command = new Command('outbox').description(
    'Deliveries of approved actions to the CRM: list them (status dead is the dead-letter queue) and replay dead letters',
  );

  command
    .command('list')
    .description('Deliveries, newest first')
    .addOption(new Option('--status <status>', 'only this status').choices(OUTBOX_STATUSES))
    .option('--connector <name>', 'only this connector')
    .option('--decision <id>', 'only this decision')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 100)
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        status?: OutboxStatus;
        connector?: string;
        decision?: string;
        limit: number;
        json?: boolean;
      }) => {
        if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 10_000)
          throw new AppError('validation_failed', '--limit must be a whole number from 1 to 10000');
        if (options.decision && !z.uuid().safeParse(options.decision).success)
          throw new AppError(
            'validation_failed',
            `--decision "${options.decision}" is not a decision id (a UUID)`,
          );
        await withDatabase(async ({ database }) => {
          const page = await listOutbox(database.db, {
            limit: options.limit,
            ...(options.status ? { status: options.status } : {}),
            ...(options.connector ? { connector: options.connector } : {}),
            ...(options.decision ? { decisionId: options.decision } : {}),
          });
          printResult(Boolean(options.json), page.items, () =>
            table(
              page.items.map((r) => ({
                ...r,
                action: (r.payload as { type?: string } | null)?.type ?? '',
                last_error: truncate(r.last_error ?? '', 80),
              })),
              [
                'id',
                'created_at',
                'decision_id',
                'kind',
                'action',
                'connector',
                'status',
                'attempts',
                'last_error',
              ],
            ),
          );
        });
      },
    );

  command
    .command('replay')
    .description(
      'Send a dead letter back to the queue (attempts reset, same idempotency key); audited with your reason',
    )
    .argument('<id>', 'the outbox row (see `funnelgate outbox list --status dead`)')
    .requiredOption('--reason <text>', 'why it is replayed (kept in the audit trail)')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { reason: string; json?: boolean }) => {
      if (!z.uuid().safeParse(id).success)
        throw new AppError('validation_failed', `"${id}" is not an outbox row id (a UUID)`);
      if (options.reason.trim().length < 3)
        throw new AppError('validation_failed', '--reason must say why (at least 3 characters)');
      await withDatabase(async ({ database }) => {
        const row = await replayDelivery(database.db, {
          outboxId: id,
          actor: { name: cliActor() },
          reason: options.reason.trim(),
        });
        printResult(
          Boolean(options.json),
          row,
          () =>
            `Outbox row ${row.id} is pending again (${row.connector}, key ${row.idempotency_key}); a running worker delivers it.`,
        );
      });
    });
  return command;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
