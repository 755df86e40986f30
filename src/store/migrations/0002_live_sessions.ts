/**
 * Live sessions: actor snapshots (so a restarted node resumes an interview where it stood), nullable affect
 * columns in score windows (blinks are an affect signal and are not computed when the tenant has them off), and
 * a detail column on media objects (why a keyframe was kept).
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE session_snapshots (
      interview_id text PRIMARY KEY REFERENCES interviews(id) ON DELETE CASCADE,
      version integer NOT NULL,
      state jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`ALTER TABLE score_windows ALTER COLUMN blinks DROP NOT NULL`
  yield* sql`ALTER TABLE media_objects ADD COLUMN detail jsonb NOT NULL DEFAULT '{}'::jsonb`
  yield* sql`CREATE INDEX media_objects_interview ON media_objects (interview_id, created_at)`
})
