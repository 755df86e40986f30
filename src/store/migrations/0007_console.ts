/**
 * The browser pages: a console session opened with an API key (the key itself never lives in the browser; the
 * session ends with the key), and the address candidates are told to write to about their data.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE key_sessions (
      id text PRIMARY KEY,
      token_hash text NOT NULL UNIQUE,
      key_id text NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz
    )`
  yield* sql`CREATE INDEX key_sessions_key ON key_sessions (key_id)`
  yield* sql`ALTER TABLE tenants ADD COLUMN privacy_contact text NOT NULL DEFAULT ''`
})
