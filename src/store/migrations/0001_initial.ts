/**
 * The system of record. Every table a tenant owns cascades from `tenants`, and every table about an interview
 * cascades from `interviews`, so erasure is one DELETE and cannot miss a table added later.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE tenants (
      id text PRIMARY KEY,
      name text NOT NULL,
      region text NOT NULL DEFAULT 'other',
      affect_policy text NOT NULL DEFAULT 'enabled' CHECK (affect_policy IN ('enabled', 'disabled')),
      score_weights jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      -- Emotion inference at work is banned in the EU: an EU tenant can never turn affect signals on.
      CONSTRAINT eu_affect_off CHECK (region <> 'eu' OR affect_policy = 'disabled')
    )`
  yield* sql`
    CREATE TABLE api_keys (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      key_hash text NOT NULL UNIQUE,
      prefix text NOT NULL,
      label text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )`
  yield* sql`
    CREATE TABLE interviews (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      candidate_name text NOT NULL,
      candidate_email text,
      status text NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'in_progress', 'finished', 'abandoned')),
      affect_enabled boolean NOT NULL,
      question_cursor integer NOT NULL DEFAULT -1,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz
    )`
  yield* sql`CREATE INDEX interviews_tenant_page ON interviews (tenant_id, created_at DESC, id DESC)`
  yield* sql`
    CREATE TABLE questions (
      id text PRIMARY KEY,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      position integer NOT NULL,
      prompt text NOT NULL,
      rubric jsonb,
      expected_points jsonb NOT NULL DEFAULT '[]'::jsonb,
      UNIQUE (interview_id, position)
    )`
  yield* sql`
    CREATE TABLE answers (
      id text PRIMARY KEY,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      question_id text NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
      source text NOT NULL CHECK (source IN ('text', 'audio')),
      body text NOT NULL,
      idempotency_key text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX answers_interview ON answers (interview_id, question_id)`
  yield* sql`
    CREATE TABLE answer_scores (
      answer_id text NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
      sample integer NOT NULL,
      scorer text NOT NULL,
      model text NOT NULL,
      prompt_version text NOT NULL,
      temperature real NOT NULL,
      result jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (answer_id, sample)
    )`
  yield* sql`
    CREATE TABLE score_windows (
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      second integer NOT NULL,
      question_id text,
      frames integer NOT NULL,
      face_present real NOT NULL,
      blinks integer NOT NULL,
      ear_mean real,
      emotion jsonb,
      PRIMARY KEY (interview_id, second)
    )`
  yield* sql`
    CREATE TABLE score_events (
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      seq integer NOT NULL,
      tag text NOT NULL,
      at timestamptz NOT NULL,
      payload jsonb NOT NULL,
      PRIMARY KEY (interview_id, seq)
    )`
  yield* sql`
    CREATE TABLE reports (
      interview_id text PRIMARY KEY REFERENCES interviews(id) ON DELETE CASCADE,
      version integer NOT NULL,
      body jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE reviews (
      id text PRIMARY KEY,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      reviewer text NOT NULL,
      rating integer CHECK (rating BETWEEN 1 AND 5),
      decision text NOT NULL CHECK (decision IN ('advance', 'hold', 'reject')),
      notes text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE consents (
      id text PRIMARY KEY,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('recording', 'affect_analysis', 'data_processing')),
      granted boolean NOT NULL,
      notice_version text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE media_objects (
      key text PRIMARY KEY,
      interview_id text NOT NULL REFERENCES interviews(id) ON DELETE CASCADE,
      kind text NOT NULL,
      content_type text NOT NULL,
      bytes integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  // The audit log outlives what it describes (an erasure must itself be on record), so it holds ids, not data.
  yield* sql`
    CREATE TABLE audit_log (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      subject text NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}'::jsonb,
      at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at DESC)`
})
