/**
 * Recruiter accounts: people who sign in as themselves (API keys stay for integrations). One-time tokens (invite,
 * reset) and sessions are kept as SHA-256 hashes only; failed sign-ins are counted per email address, whether an
 * account has it or not, so that the answers do not tell which addresses exist.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE users (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      email text NOT NULL,
      role text NOT NULL CHECK (role IN ('admin', 'recruiter', 'reader')),
      password_hash text,
      disabled_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, lower(email))`
  yield* sql`CREATE INDEX users_email ON users (lower(email))`
  yield* sql`
    CREATE TABLE user_tokens (
      token_hash text PRIMARY KEY,
      user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('invite', 'reset')),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )`
  yield* sql`CREATE INDEX user_tokens_user ON user_tokens (user_id)`
  yield* sql`
    CREATE TABLE user_sessions (
      id text PRIMARY KEY,
      token_hash text NOT NULL UNIQUE,
      user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz
    )`
  yield* sql`CREATE INDEX user_sessions_user ON user_sessions (user_id)`
  yield* sql`
    CREATE TABLE sign_in_failures (
      email_key text PRIMARY KEY,
      count integer NOT NULL DEFAULT 0,
      last_failed_at timestamptz NOT NULL DEFAULT now(),
      locked_until timestamptz
    )`
})
