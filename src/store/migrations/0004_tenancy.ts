/**
 * Operators and responsible hiring: a tenant's retention and candidate notice, key roles, the source address of
 * audit rows, tombstones of erased interviews (no personal data), and candidates' self-identification, kept apart
 * from the interview it belongs to and erased with it.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE tenants ADD COLUMN retention_days integer NOT NULL DEFAULT 180 CHECK (retention_days >= 1)`
  yield* sql`ALTER TABLE tenants ADD COLUMN notice_text text NOT NULL DEFAULT ''`
  yield* sql`ALTER TABLE tenants ADD COLUMN notice_version text NOT NULL DEFAULT '1'`
  yield* sql`
    ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'recruiter', 'reader'))`
  yield* sql`ALTER TABLE audit_log ADD COLUMN source text`
  yield* sql`CREATE INDEX audit_log_subject ON audit_log (tenant_id, subject, at DESC)`
  yield* sql`
    CREATE TABLE interview_tombstones (
      interview_id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      erased_at timestamptz NOT NULL DEFAULT now(),
      reason text NOT NULL CHECK (reason IN ('request', 'retention'))
    )`
  yield* sql`
    CREATE TABLE demographics (
      interview_id text PRIMARY KEY REFERENCES interviews(id) ON DELETE CASCADE,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      sex text,
      race_ethnicity text,
      declined boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
})
