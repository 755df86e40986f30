/**
 * Durable answer scoring. Every stored answer gets a scoring job in the same transaction (a trigger, so that any
 * writer of `answers` — the HTTP intake or a live session — enqueues it without knowing the queue exists).
 * Workers claim due jobs with a lease; a worker that dies leaves the lease to expire and another one takes the
 * job over. Sample rows in `answer_scores` are keyed by (answer, sample), so a job run twice writes nothing twice.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE scoring_jobs (
      answer_id text PRIMARY KEY REFERENCES answers(id) ON DELETE CASCADE,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      -- Fixed at the first claim, so a restart with other settings does not change what "complete" means.
      samples_requested integer,
      scorer text,
      lease_owner text,
      lease_until timestamptz,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX scoring_jobs_due ON scoring_jobs (state, next_attempt_at)`
  yield* sql`CREATE INDEX scoring_jobs_interview ON scoring_jobs (interview_id)`
  yield* sql`
    CREATE FUNCTION candor_enqueue_scoring() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- A restore brings the jobs' own rows along; it sets candor.restoring so none is made twice.
      IF current_setting('candor.restoring', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO scoring_jobs (answer_id, interview_id) VALUES (NEW.id, NEW.interview_id)
        ON CONFLICT (answer_id) DO NOTHING;
      END IF;
      RETURN NEW;
    END
    $$`
  yield* sql`
    CREATE TRIGGER answers_enqueue_scoring AFTER INSERT ON answers
    FOR EACH ROW EXECUTE FUNCTION candor_enqueue_scoring()`
  // Answers stored before this migration are scored too.
  yield* sql`
    INSERT INTO scoring_jobs (answer_id, interview_id)
    SELECT id, interview_id FROM answers ON CONFLICT (answer_id) DO NOTHING`
  // How an audio answer became text: { model, contentType, bytes }.
  yield* sql`ALTER TABLE answers ADD COLUMN transcription jsonb`
})
