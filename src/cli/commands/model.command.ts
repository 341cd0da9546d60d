// `funnelgate model train|list|promote|rollback|shadow` and `funnelgate features backfill`.
import { Command, Option } from 'commander';
import { allContactIds } from '../../features/materialize.ts';
import { promoteModel } from '../../models/promote-model.ts';
import { getModelVersion, listModels, rollbackModel, setAlias } from '../../models/registry.ts';
import { LEAD_MODEL, scoreContacts } from '../../models/score-contacts.ts';
import { trainLeadModel } from '../../models/train-lead-model.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';
import { progressBar } from '../progress.ts';

export function modelRegistryCommands(): Command[] {
  const train = new Command('train')
    .description(
      'Train a lead-scoring model point-in-time; it becomes challenger (champion if there is none)',
    )
    .addOption(new Option('--kind <kind>', 'model family').choices(['gbt', 'logistic']).default('gbt'))
    .addOption(
      new Option('--calibration <method>').choices(['isotonic', 'platt', 'none']).default('isotonic'),
    )
    .option(
      '--holdout <fraction>',
      'latest share of labelled moments held out for evaluation',
      (v) => Number(v),
      0.2,
    )
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        kind: 'gbt' | 'logistic';
        calibration: 'isotonic' | 'platt' | 'none';
        holdout: number;
        json?: boolean;
      }) => {
        await withDatabase(async ({ database }) => {
          const bar = progressBar('building the point-in-time training set', options.json);
          const result = await trainLeadModel(database.db, {
            kind: options.kind,
            calibration: options.calibration,
            holdoutFraction: options.holdout,
            by: cliActor(),
            onProgress: (stage, done, total) => bar.update(stage, done, total),
          });
          bar.stop();
          printResult(Boolean(options.json), result, () => {
            const m = result.metrics;
            const vs = result.championMetrics
              ? ` (champion on the same holdout: ROC AUC ${result.championMetrics.roc_auc.toFixed(3)})`
              : '';
            return (
              `Trained ${LEAD_MODEL} version ${result.version} (${result.alias}).\n` +
              `Holdout (${m.rows} moments, ${m.positives} positive): ROC AUC ${m.roc_auc.toFixed(3)}${vs}, PR AUC ${m.pr_auc.toFixed(3)}, ` +
              `Brier ${m.brier.toFixed(4)}, ECE ${m.ece.toFixed(4)}, lift@10% ${m.lift_at_10.toFixed(2)}`
            );
          });
        });
      },
    );

  const list = new Command('list')
    .description('Model versions with their holdout metrics and aliases')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const models = await listModels(database.db, LEAD_MODEL);
        printResult(Boolean(options.json), models, () =>
          table(
            models.map((m) => {
              const h = (m.metrics as { holdout?: Record<string, number> }).holdout ?? {};
              return {
                version: m.version,
                kind: m.kind,
                aliases: m.aliases,
                roc_auc: h['roc_auc']?.toFixed(3),
                brier: h['brier']?.toFixed(4),
                ece: h['ece']?.toFixed(4),
                trained_at: m.trained_at,
                trained_by: m.trained_by,
              };
            }),
            ['version', 'kind', 'aliases', 'roc_auc', 'brier', 'ece', 'trained_at', 'trained_by'],
          ),
        );
      });
    });

  const promote = new Command('promote')
    .description(
      'Make a version champion (default: the challenger); refused unless it beats the champion on the same holdout',
    )
    .option('--version <n>', 'version to promote', (v) => Number.parseInt(v, 10))
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { version?: number; reason: string; json?: boolean }) => {
      await withDatabase(async ({ database, config }) => {
        const result = await promoteModel(database.db, {
          name: LEAD_MODEL,
          ...(options.version ? { version: options.version } : {}),
          by: cliActor(),
          reason: options.reason,
          rule: { metric: config.promotionMetric, minGain: config.promotionMinGain },
        });
        printResult(
          Boolean(options.json),
          result,
          () => `Version ${result.promoted} is now champion (was ${result.previous ?? 'the prior'}).`,
        );
      });
    });

  const rollback = new Command('rollback')
    .description('Put the previous champion (or --to <version>) back')
    .option('--to <n>', 'version to make champion', (v) => Number.parseInt(v, 10))
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { to?: number; reason: string; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const result = await rollbackModel(database.db, {
          name: LEAD_MODEL,
          ...(options.to ? { toVersion: options.to } : {}),
          by: cliActor(),
          reason: options.reason,
        });
        printResult(
          Boolean(options.json),
          result,
          () => `Champion rolled back from version ${result.from ?? 'none'} to version ${result.to}.`,
        );
      });
    });

  const shadow = new Command('shadow')
    .description('Score with a version in shadow, alongside the champion, without acting (--off removes it)')
    .option('--version <n>', 'version to run in shadow', (v) => Number.parseInt(v, 10))
    .option('--off', 'stop the shadow')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .action(async (options: { version?: number; off?: boolean; reason: string }) => {
      await withDatabase(async ({ database }) => {
        const modelId = options.off
          ? null
          : (await getModelVersion(database.db, LEAD_MODEL, options.version ?? NaN)).id;
        await database.db.transaction().execute((trx) =>
          setAlias(trx, {
            name: LEAD_MODEL,
            alias: 'shadow',
            modelId,
            by: cliActor(),
            reason: options.reason,
            action: 'model.alias',
          }),
        );
        process.stdout.write(
          options.off ? 'Shadow removed.\n' : `Version ${options.version} now scores in shadow.\n`,
        );
      });
    });
  return [train, list, promote, rollback, shadow];
}

export function featuresCommand(): Command {
  const command = new Command('features').description('Feature store: backfill the online store and rescore');
  command
    .command('backfill')
    .description(
      "Recompute every contact's features and score, now (the job does this for changed contacts seconds after their events)",
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const total = Number(
          (
            await database.db
              .selectFrom('contacts')
              .select((eb) => eb.fn.countAll<string>().as('n'))
              .where('merged_into_id', 'is', null)
              .executeTakeFirstOrThrow()
          ).n,
        );
        const bar = progressBar('contacts', options.json);
        const started = performance.now();
        let done = 0;
        for await (const ids of allContactIds(database.db)) {
          await scoreContacts(database.db, ids);
          done += ids.length;
          bar.update('contacts', done, total);
        }
        bar.stop();
        const seconds = (performance.now() - started) / 1000;
        printResult(
          Boolean(options.json),
          { contacts: done, seconds },
          () => `Recomputed features and scores of ${done} contacts in ${seconds.toFixed(1)} s.`,
        );
      });
    });
  return command;
}
