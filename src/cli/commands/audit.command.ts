import { createWriteStream } from 'node:fs';
import { Command } from 'commander';
import { verifyAuditChain } from '../../audit/audit-log.ts';
import { AppError } from '../../errors.ts';
import { withDatabase } from '../context.ts';
import { printResult } from '../output.ts';

export function auditCommand(): Command {
  const command = new Command('audit').description('Verify and export the tamper-evident audit trail');

  command
    .command('verify')
    .description('Recompute the hash chain; if it is broken, name the first broken entry and exit 6')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const result = await verifyAuditChain(database.db);
        if (!result.ok) {
          throw new AppError(
            'conflict',
            `The audit trail is broken at entry ${result.first_broken!.id}: ${result.first_broken!.reason} (${result.checked} entries before it verified)`,
            result,
          );
        }
        printResult(
          Boolean(options.json),
          result,
          () => `The audit trail is intact: ${result.checked} entries verified.`,
        );
      });
    });

  command
    .command('export')
    .description('Write the whole trail as JSON Lines (oldest first) to a file or stdout')
    .option('-o, --out <file>', 'file to write (default: stdout)')
    .action(async (options: { out?: string }) => {
      await withDatabase(async ({ database }) => {
        const out = options.out ? createWriteStream(options.out) : process.stdout;
        let after = '0';
        let count = 0;
        for (;;) {
          const rows = await database.db
            .selectFrom('audit_log')
            .selectAll()
            .where('id', '>', after)
            .orderBy('id')
            .limit(5000)
            .execute();
          for (const row of rows) out.write(`${JSON.stringify(row)}\n`);
          count += rows.length;
          if (rows.length < 5000) break;
          after = rows.at(-1)!.id;
        }
        if (options.out) {
          await new Promise<void>((resolve) => (out as ReturnType<typeof createWriteStream>).end(resolve));
          process.stderr.write(`Wrote ${count} entries to ${options.out}\n`);
        }
      });
    });
  return command;
}
