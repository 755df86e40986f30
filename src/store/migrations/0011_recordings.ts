/**
 * Recorded answers: an interview's mode, and the resumable uploads of answer recordings. An upload's bytes wait
 * in the media store as parts until it completes; `received` is how far the upload has come (the offset the next
 * part must start at), so a client that lost its connection asks where to resume;
 * `parts` lists the byte lengths of the parts accepted, in order (the part objects are named by offset and length).
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE interviews ADD COLUMN mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'recorded'))`
  yield* sql`
    CREATE TABLE recording_uploads (
      id text PRIMARY KEY,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      question_id text NOT NULL,
      content_type text NOT NULL,
      received integer NOT NULL DEFAULT 0,
      parts jsonb NOT NULL DEFAULT '[]'::jsonb,
      status text NOT NULL DEFAULT 'uploading' CHECK (status IN ('uploading', 'complete')),
      media_key text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz
    )`
  yield* sql`CREATE INDEX recording_uploads_interview ON recording_uploads (interview_id, question_id)`
})
