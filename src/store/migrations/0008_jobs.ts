/**
 * Durable jobs (src/jobs): one row per job, claimed under a lease. `key` makes enqueueing idempotent (a scheduled
 * run of a period, one job per upload). A job about an interview goes with it when the interview is erased.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE jobs (
      id text PRIMARY KEY,
      kind text NOT NULL,
      key text UNIQUE,
      tenant_id text REFERENCES tenants(id) ON DELETE CASCADE,
      interview_id text REFERENCES interviews(id) ON DELETE CASCADE,
      payload jsonb NOT NULL,
      state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
      progress real NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0,
      max_attempts integer NOT NULL DEFAULT 5,
      run_at timestamptz NOT NULL DEFAULT now(),
      lease_owner text,
      lease_until timestamptz,
      last_error text,
      result jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`
  yield* sql`CREATE INDEX jobs_due ON jobs (state, run_at)`
  yield* sql`CREATE INDEX jobs_interview ON jobs (interview_id)`
})
