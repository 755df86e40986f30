/**
 * Uploaded-video analyses: one row per analysis job, written whole at the job's end (a re-run of the same job
 * replaces its row), read into the report as the question's `upload` signals. The row goes with its interview.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE video_analyses (
      job_id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      question_id text NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
      media_key text NOT NULL,
      summary jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX video_analyses_interview ON video_analyses (interview_id, question_id, created_at)`
})
