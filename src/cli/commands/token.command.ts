import { Command, Option } from 'commander';
import { ROLES, type Role } from '../../auth/roles.ts';
import { createToken, listTokens, revokeToken, toTokenView } from '../../auth/tokens.ts';
import { createUser, findUserByIdOrEmail } from '../../auth/users.ts';
import { AppError } from '../../errors.ts';
import { parseDuration } from '../duration.ts';
import { appendAudit } from '../../audit/audit-log.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';

export function tokenCommand(): Command {
  const command = new Command('token').description('Create, list and revoke API tokens');

  command
    .command('create')
    .description(
      'Create an API token (printed once). Creates the user with these roles if it does not exist.',
    )
    .requiredOption('-u, --user <email-or-id>', 'the user the token belongs to')
    .addOption(
      new Option('-r, --role <role...>', 'role(s) the token carries').choices(ROLES).makeOptionMandatory(),
    )
    .option('-n, --name <name>', 'a label to tell tokens apart', 'cli')
    .option('--expires-in <duration>', 'e.g. 30d, 12h; default: never expires')
    .option('--json', 'print the result as JSON')
    .action(
      async (options: { user: string; role: Role[]; name: string; expiresIn?: string; json?: boolean }) => {
        const expiresAt = options.expiresIn
          ? new Date(Date.now() + parseDuration(options.expiresIn, '--expires-in'))
          : undefined;
        await withDatabase(async ({ database }) => {
          let user = await findUserByIdOrEmail(database.db, options.user);
          let createdUser = false;
          if (!user) {
            if (!options.user.includes('@')) {
              throw new AppError('not_found', `No user with id ${options.user}; pass an email to create one`);
            }
            const email = options.user;
            user = await createUser(database.db, {
              email,
              name: email.split('@')[0]!,
              roles: options.role,
              kind: options.role.includes('ingest') ? 'machine' : 'human',
            });
            createdUser = true;
          }
          const { token, record } = await createToken(database.db, {
            user_id: user.id,
            name: options.name,
            roles: options.role,
            ...(expiresAt ? { expires_at: expiresAt } : {}),
          });
          await appendAudit(database.db, {
            actor: cliActor(),
            action: 'token.create',
            subjectType: 'api_token',
            subjectId: record.id,
            after: toTokenView(record),
          });
          printResult(
            Boolean(options.json),
            { ...toTokenView(record), token, created_user: createdUser },
            () =>
              [
                createdUser ? `Created user ${user.email} with role(s) ${options.role.join(', ')}.` : '',
                `Token for ${user.email} (roles: ${record.roles.join(', ')}${record.expires_at ? `, expires ${record.expires_at.toISOString()}` : ''}):`,
                '',
                `  ${token}`,
                '',
                'Store it now: it is not shown again.',
              ]
                .filter((line, i) => i > 0 || line)
                .join('\n'),
          );
        });
      },
    );

  command
    .command('list')
    .description('List tokens (never their secrets)')
    .option('-u, --user <email-or-id>', "only this user's tokens")
    .option('--all', 'include revoked tokens')
    .option('--json', 'print the result as JSON')
    .action(async (options: { user?: string; all?: boolean; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        let userId: string | undefined;
        if (options.user) {
          const user = await findUserByIdOrEmail(database.db, options.user);
          if (!user) throw new AppError('not_found', `No user ${options.user}`);
          userId = user.id;
        }
        const tokens = (
          await listTokens(database.db, {
            ...(userId ? { userId } : {}),
            includeRevoked: Boolean(options.all),
          })
        ).map(toTokenView);
        printResult(Boolean(options.json), tokens, () =>
          table(tokens, [
            'id',
            'display_prefix',
            'name',
            'roles',
            'created_at',
            'expires_at',
            'last_used_at',
            'revoked_at',
          ]),
        );
      });
    });

  command
    .command('revoke')
    .description('Revoke a token by id; it stops working at once')
    .argument('<token-id>')
    .option('--json', 'print the result as JSON')
    .action(async (tokenId: string, options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const record = await revokeToken(database.db, tokenId, null);
        await appendAudit(database.db, {
          actor: cliActor(),
          action: 'token.revoke',
          subjectType: 'api_token',
          subjectId: record.id,
          after: toTokenView(record),
        });
        printResult(
          Boolean(options.json),
          toTokenView(record),
          () => `Revoked token ${record.id} (${record.display_prefix}…).`,
        );
      });
    });
  return command;
}
