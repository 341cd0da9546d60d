import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { breakerState } from '../../gates/active-policy.ts';
import { setBreaker } from '../../gates/circuit-breaker.ts';
import { decidePolicy, diffDocuments, getPolicy, listPolicies, proposePolicy } from '../../gates/policies.ts';
import { simulatePolicy } from '../../gates/simulate-policy.ts';
import { AppError } from '../../errors.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { printResult, table } from '../output.ts';

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new AppError('bad_request', `Cannot read ${file}: ${(error as Error).message}`);
  }
}

export function policyCommand(): Command {
  const command = new Command('policy').description(
    'Versioned policies: list, propose, approve or reject, diff, simulate',
  );

  command
    .command('list')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const items = await listPolicies(database.db);
        printResult(Boolean(options.json), items, () =>
          table(items, [
            'version',
            'status',
            'reason',
            'proposed_by',
            'proposed_at',
            'decided_by',
            'decided_at',
          ]),
        );
      });
    });

  command
    .command('show')
    .argument('<version>')
    .option('--json', 'print the result as JSON')
    .action(async (version: string, options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const policy = await getPolicy(database.db, Number(version));
        printResult(
          Boolean(options.json),
          policy,
          () => `# version ${policy.version} (${policy.status})\n${policy.document}`,
        );
      });
    });

  command
    .command('propose')
    .description('Propose a new version from a YAML file; another policy owner must approve it')
    .requiredOption('-f, --file <file>', 'the policy YAML')
    .requiredOption('--reason <text>', 'why the change')
    .option('--as <email>', 'who proposes (recorded in the audit trail; default: the OS user)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { file: string; reason: string; as?: string; json?: boolean }) => {
      const document = readFile(options.file);
      await withDatabase(async ({ database }) => {
        const result = await proposePolicy(database.db, {
          document,
          reason: options.reason,
          by: { name: options.as ?? cliActor() },
        });
        printResult(
          Boolean(options.json),
          result,
          () =>
            `Proposed policy version ${result.version}; another policy owner approves it with \`funnelgate policy approve ${result.version}\`.`,
        );
      });
    });

  for (const [name, approve] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    command
      .command(name)
      .argument('<version>')
      .requiredOption('--reason <text>', 'why')
      .option('--as <email>', 'who decides (must not be the proposer)')
      .option('--json', 'print the result as JSON')
      .action(async (version: string, options: { reason: string; as?: string; json?: boolean }) => {
        await withDatabase(async ({ database }) => {
          const result = await decidePolicy(database.db, {
            version: Number(version),
            approve,
            reason: options.reason,
            by: { name: options.as ?? cliActor() },
          });
          printResult(
            Boolean(options.json),
            result,
            () => `Policy version ${result.version} is ${result.status}.`,
          );
        });
      });
  }

  command
    .command('diff')
    .argument('<version>')
    .option('--against <version>', 'compare with this version (default: the active one)')
    .action(async (version: string, options: { against?: string }) => {
      await withDatabase(async ({ database }) => {
        const target = await getPolicy(database.db, Number(version));
        const baseVersion = options.against
          ? Number(options.against)
          : (
              await database.db
                .selectFrom('policies')
                .select('version')
                .where('status', '=', 'active')
                .executeTakeFirst()
            )?.version;
        const base = baseVersion ? await getPolicy(database.db, baseVersion) : undefined;
        for (const l of diffDocuments(base?.document ?? '', target.document))
          process.stdout.write(`${l.op} ${l.line}\n`);
      });
    });

  command
    .command('simulate')
    .description(
      'Replay recent proposals through a candidate policy and report what would have executed, waited or been blocked',
    )
    .requiredOption('-p, --policy <file>', 'the candidate policy YAML')
    .option('--since <duration>', 'how far back, e.g. 30d', '30d')
    .option('--breaker-open', 'as if the circuit breaker were open')
    .option('--json', 'print the result as JSON')
    .action(async (options: { policy: string; since: string; breakerOpen?: boolean; json?: boolean }) => {
      const document = readFile(options.policy);
      const since = new Date(Date.now() - parseDuration(options.since, '--since'));
      await withDatabase(async ({ database }) => {
        const report = await simulatePolicy(database.db, {
          document,
          since,
          breakerOpen: Boolean(options.breakerOpen),
        });
        printResult(Boolean(options.json), report, () =>
          [
            `${report.proposals} proposals since ${report.since}:`,
            `  would execute automatically: ${report.candidate.auto}`,
            `  would go to review:          ${report.candidate.review}`,
            `  would be blocked:            ${report.candidate.block}`,
            `  actually: ${
              Object.entries(report.actual)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'none'
            }; ${report.changed} would be decided differently`,
            `  by rule: ${
              Object.entries(report.by_rule)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'none'
            }`,
            `  review load per reviewer per day: mean ${report.review_load_per_reviewer_per_day.mean.toFixed(1)}, max ${report.review_load_per_reviewer_per_day.max} approvals`,
          ].join('\n'),
        );
      });
    });
  return command;
}

export function breakerCommand(): Command {
  const command = new Command('breaker').description(
    'The circuit breaker: when open, every proposal goes to a human',
  );
  command
    .command('status')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const state = await breakerState(database.db);
        printResult(
          Boolean(options.json),
          state,
          () =>
            `${state.open ? 'OPEN: every proposal goes to review' : 'closed'}${state.reason ? ` (${state.reason}, ${state.changed_by})` : ''}`,
        );
      });
    });
  for (const [name, open] of [
    ['open', true],
    ['close', false],
  ] as const) {
    command
      .command(name)
      .requiredOption('--reason <text>', 'why')
      .action(async (options: { reason: string }) => {
        await withDatabase(async ({ database }) => {
          const state = await setBreaker(database.db, {
            open,
            reason: options.reason,
            by: { name: cliActor() },
          });
          process.stdout.write(`Circuit breaker ${state.open ? 'open' : 'closed'}.\n`);
        });
      });
  }
  return command;
}
