import { userInfo } from 'node:os';

/** Who did it, for audit entries written by CLI commands: the operating-system user at the database's side. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
