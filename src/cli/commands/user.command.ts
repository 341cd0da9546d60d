import { Command, Option } from 'commander';
import { ROLES, type Role } from '../../auth/roles.ts';
import { createUser, findUserByIdOrEmail, listUsers, toUserView, updateUser } from '../../auth/users.ts';
import { AppError } from '../../errors.ts';
import { appendAudit } from '../../audit/audit-log.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';

const USER_COLUMNS = ['id', 'email', 'name', 'roles', 'capacity', 'timezone', 'active'];

export function userCommand(): Command {
  const command = new Command('user').description(
    'Manage users: reps, reviewers, policy owners, analysts, machines',
  );

  command
    .command('create')
    .description('Create a user')
    .requiredOption('-e, --email <email>')
    .option('-n, --name <name>', 'display name (default: the part of the email before @)')
    .addOption(new Option('-r, --role <role...>', 'role(s)').choices(ROLES).makeOptionMandatory())
    .option('--capacity <n>', 'open items this person can carry', (v) => Number.parseInt(v, 10))
    .option('--skills <skills>', 'comma-separated skills, e.g. enterprise,fintech')
    .option('--timezone <zone>', 'IANA time zone, e.g. Europe/Berlin')
    .option('--machine', 'a machine identity (for ingest tokens)')
    .option('--json', 'print the result as JSON')
    .action(
      async (options: {
        email: string;
        name?: string;
        role: Role[];
        capacity?: number;
        skills?: string;
        timezone?: string;
        machine?: boolean;
        json?: boolean;
      }) => {
        await withDatabase(async ({ database }) => {
          const user = await createUser(database.db, {
            email: options.email,
            name: options.name ?? options.email.split('@')[0] ?? options.email,
            roles: options.role,
            kind: options.machine ? 'machine' : 'human',
            ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
            ...(options.skills ? { skills: options.skills.split(',').map((s) => s.trim()) } : {}),
            ...(options.timezone ? { timezone: options.timezone } : {}),
          });
          await appendAudit(database.db, {
            actor: cliActor(),
            action: 'user.create',
            subjectType: 'user',
            subjectId: user.id,
            after: toUserView(user),
          });
          printResult(
            Boolean(options.json),
            toUserView(user),
            () => `Created user ${user.email} (${user.id}) with role(s) ${user.roles.join(', ')}.`,
          );
        });
      },
    );

  command
    .command('list')
    .description('List users')
    .addOption(new Option('-r, --role <role>', 'only users with this role').choices(ROLES))
    .option('--json', 'print the result as JSON')
    .action(async (options: { role?: Role; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const users = (
          await listUsers(database.db, { limit: 10_000, ...(options.role ? { role: options.role } : {}) })
        ).map(toUserView);
        printResult(Boolean(options.json), users, () => table(users, USER_COLUMNS));
      });
    });

  command
    .command('update')
    .description('Change a user: add or remove roles, capacity, time zone, (de)activate')
    .argument('<email-or-id>')
    .addOption(new Option('--add-role <role...>').choices(ROLES))
    .addOption(new Option('--remove-role <role...>').choices(ROLES))
    .option('--capacity <n>', 'open items this person can carry', (v) => Number.parseInt(v, 10))
    .option('--timezone <zone>')
    .option('--deactivate', 'the user and all their tokens stop working')
    .option('--activate')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        who: string,
        options: {
          addRole?: Role[];
          removeRole?: Role[];
          capacity?: number;
          timezone?: string;
          deactivate?: boolean;
          activate?: boolean;
          json?: boolean;
        },
      ) => {
        await withDatabase(async ({ database }) => {
          const user = await findUserByIdOrEmail(database.db, who);
          if (!user) throw new AppError('not_found', `No user ${who}`);
          const roles = new Set(user.roles as Role[]);
          options.addRole?.forEach((r) => roles.add(r));
          options.removeRole?.forEach((r) => roles.delete(r));
          const updated = await updateUser(database.db, user.id, {
            roles: [...roles],
            ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
            ...(options.timezone ? { timezone: options.timezone } : {}),
            ...(options.deactivate ? { active: false } : options.activate ? { active: true } : {}),
          });
          await appendAudit(database.db, {
            actor: cliActor(),
            action: 'user.update',
            subjectType: 'user',
            subjectId: user.id,
            before: toUserView(user),
            after: toUserView(updated),
          });
          printResult(Boolean(options.json), toUserView(updated), () =>
            table([toUserView(updated)], USER_COLUMNS),
          );
        });
      },
    );
  return command;
}
