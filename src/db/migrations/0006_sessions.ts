// Browser sessions for the web console. A person signs in with an API token; the browser then holds a random
// session secret in an httpOnly cookie. Only the secret's SHA-256 is stored, so a copy of this table cannot be
// used to sign in. The session acts with its token's roles and ends when the token is revoked or expires.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table sessions (
      id_hash bytea primary key,
      user_id uuid not null references users(id),
      token_id uuid not null references api_tokens(id),
      -- Keys the CSRF token the console sends back in x-csrf-token on every write.
      csrf_secret text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      last_seen_at timestamptz not null default now(),
      user_agent text
    );
    create index sessions_user_idx on sessions (user_id);
    create index sessions_token_idx on sessions (token_id);
    create index sessions_expiry_idx on sessions (expires_at);
  `.execute(db);
}
