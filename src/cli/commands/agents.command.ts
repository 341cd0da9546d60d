// `funnelgate agents list` and `funnelgate agents run [--agent NAME] [--contact ID...]`.
import { Command, Option } from 'commander';
import { z } from 'zod';
import { recordManualRun } from '../../agents/manual-run.ts';
import { AGENT_NAMES, describeAgents } from '../../agents/registry.ts';
import { runAgents } from '../../agents/run-agents.ts';
import { AppError } from '../../errors.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';
import { progressBar } from '../progress.ts';
import { bottlenecksCommand } from './forecast.command.ts';

export function agentsCommand(): Command {
  const command = new Command('agents').description(
    'The agents that propose actions (qualification, routing, follow-up timing, next-best-action)',
  );

  command
    .command('list')
    .description('Agents with their version, the action kind they propose and what they do')
    .option('--json', 'print the result as JSON')
    .action((options: { json?: boolean }) => {
      const agents = describeAgents();
      printResult(Boolean(options.json), agents, () =>
        table(agents, ['name', 'version', 'action_kind', 'scope', 'description']),
      );
    });

  command
    .command('run')
    .description(
      'Run agents now and send their proposals through the gate. Without --contact: every open lead ' +
        '(routing: every lead without an owner, as one batch)',
    )
    .addOption(
      new Option('--agent <name>', `only this agent, repeatable (${AGENT_NAMES.join(', ')})`).argParser(
        collect,
      ),
    )
    .option('--contact <id...>', 'only these contacts')
    .option('--json', 'print the result as JSON')
    .action(async (options: { agent?: string[]; contact?: string[]; json?: boolean }) => {
      const bad = (options.contact ?? []).filter((id) => !z.uuid().safeParse(id).success);
      if (bad.length > 0)
        throw new AppError('validation_failed', `--contact ${bad.join(', ')}: not a contact id (a UUID)`);
      const unknown = (options.agent ?? []).filter((a) => !AGENT_NAMES.includes(a));
      if (unknown.length > 0)
        throw new AppError(
          'validation_failed',
          `--agent ${unknown.join(', ')}: unknown agent; known: ${AGENT_NAMES.join(', ')}`,
        );
      const agents = options.agent ?? [...AGENT_NAMES];
      await withDatabase(async ({ config, database }) => {
        await recordManualRun(
          database.db,
          { name: cliActor() },
          { agents, contacts: options.contact?.length ?? null },
        );
        const bar = progressBar('running agents', options.json);
        const result = await runAgents(database.db, {
          agents,
          connector: config.executionConnector,
          ...(options.contact ? { contactIds: options.contact } : {}),
          onProgress: (done, total) => bar.update('running agents', done, total),
        });
        bar.stop();
        printResult(Boolean(options.json), result, () => {
          const rows = result.agents.map((a) => ({
            agent: a.agent,
            contacts: a.contacts,
            created: a.created,
            unchanged: a.unchanged,
            in_flight: a.in_flight,
            withdrawn: a.withdrawn,
            nothing: a.no_proposal,
            errors: a.errors,
            to_review: a.statuses['pending_review'] ?? 0,
            auto: a.statuses['auto_approved'] ?? 0,
            blocked: a.statuses['blocked'] ?? 0,
          }));
          const errors = result.errors
            .slice(0, 10)
            .map((e) => `  ${e.agent} ${e.contact_id ?? ''}: ${e.message}`)
            .join('\n');
          return (
            `${result.contacts} contact(s).\n` +
            table(rows, Object.keys(rows[0] ?? { agent: '' })) +
            (errors ? `\nErrors:\n${errors}` : '')
          );
        });
        if (result.errors.length > 0) process.exitCode = 1;
      });
    });

  command.addCommand(bottlenecksCommand());

  return command;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
