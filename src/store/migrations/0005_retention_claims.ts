/**
 * Retention: a lease per interview being erased by a retention sweep, so that several engines on one database never
 * erase the same interview at once, and an erasure left half done (an engine stopped mid-way) is taken up again by
 * a later sweep once the lease has expired. The claim goes with the interview's rows.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE retention_claims (
      interview_id text PRIMARY KEY REFERENCES interviews(id) ON DELETE CASCADE,
      claimed_by text NOT NULL,
      expires_at timestamptz NOT NULL
    )`
  // Retention counts from the end of an interview, or from its creation while it has not finished.
  yield* sql`CREATE INDEX interviews_retention ON interviews (tenant_id, (coalesce(finished_at, created_at)))`
})
