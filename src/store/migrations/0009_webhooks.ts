/**
 * Webhooks: a tenant's endpoints, and an outbox of deliveries written by the database itself in the transaction
 * that makes the event happen, so an event is never lost and never sent for something that was rolled back:
 *
 * - `interview.started` / `interview.finished`: a trigger on the interview's status (any writer: a live session,
 *   the abandon job);
 * - `report.ready`: when the interview is over and its last scoring job ends (or it ends with none pending);
 * - `interview.erased`: a trigger on the tombstone an erasure leaves.
 *
 * Deliveries do not reference the interview (an erased interview's deliveries must outlive it); they cascade from
 * their webhook, so deleting a webhook stops its deliveries. Each event happens once per interview, so a
 * (webhook, interview, type) is delivered once however often a trigger fires. `seq` orders an interview's events.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE webhooks (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      url text NOT NULL,
      events jsonb NOT NULL,
      -- Needed in the clear to sign with it; shown to the tenant once, at creation and rotation.
      secret text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      rotated_at timestamptz
    )`
  yield* sql`CREATE INDEX webhooks_tenant ON webhooks (tenant_id, created_at)`
  yield* sql`
    CREATE TABLE webhook_deliveries (
      id text PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      webhook_id text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
      tenant_id text NOT NULL,
      event_id text NOT NULL,
      type text NOT NULL,
      interview_id text NOT NULL,
      data jsonb NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'delivered', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      lease_owner text,
      lease_until timestamptz,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (webhook_id, interview_id, type)
    )`
  yield* sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)`
  yield* sql`CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, interview_id, seq)`
  yield* sql`
    CREATE TABLE webhook_attempts (
      delivery_id text NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
      attempt integer NOT NULL,
      at timestamptz NOT NULL,
      duration_ms integer NOT NULL,
      response_status integer,
      response_body text,
      error text,
      PRIMARY KEY (delivery_id, attempt)
    )`
  // One event: a delivery for each of the tenant's webhooks that asked for it, all with the same event id.
  yield* sql`
    CREATE FUNCTION candor_webhook_event(p_tenant text, p_interview text, p_type text, p_data jsonb)
    RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      event text := gen_random_uuid()::text;
    BEGIN
      IF current_setting('candor.restoring', true) IS NOT DISTINCT FROM 'on' THEN
        RETURN;
      END IF;
      INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_id, type, interview_id, data)
      SELECT gen_random_uuid()::text, w.id, w.tenant_id, event, p_type, p_interview, p_data
      FROM webhooks w
      WHERE w.tenant_id = p_tenant AND w.events @> jsonb_build_array(p_type)
      ORDER BY w.id
      ON CONFLICT (webhook_id, interview_id, type) DO NOTHING;
    END
    $$`
  // The report is complete once the interview is over and no answer's scoring is still pending (as ReportBuilder).
  // The interview's end and its scoring jobs' ends are written by different transactions, each of which would see
  // the other's change as not yet made: a lock per interview, taken before looking, makes the later one see the
  // earlier one's (an advisory lock, so it never waits in a cycle with the row locks of an erasure).
  yield* sql`
    CREATE FUNCTION candor_webhook_report_ready(p_interview text) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      v_tenant text;
      v_status text;
    BEGIN
      SELECT tenant_id INTO v_tenant FROM interviews WHERE id = p_interview;
      IF v_tenant IS NULL OR NOT EXISTS (
        SELECT 1 FROM webhooks WHERE tenant_id = v_tenant AND events @> jsonb_build_array('report.ready')) THEN
        RETURN;
      END IF;
      PERFORM pg_advisory_xact_lock(hashtextextended('candor.report_ready:' || p_interview, 0));
      SELECT status INTO v_status FROM interviews WHERE id = p_interview;
      IF v_status IS NULL OR v_status NOT IN ('finished', 'abandoned') THEN
        RETURN;
      END IF;
      IF EXISTS (
        SELECT 1 FROM scoring_jobs WHERE interview_id = p_interview AND state IN ('pending', 'running')) THEN
        RETURN;
      END IF;
      PERFORM candor_webhook_event(v_tenant, p_interview, 'report.ready',
        jsonb_build_object('interviewId', p_interview));
    END
    $$`
  yield* sql`
    CREATE FUNCTION candor_webhook_interview_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.status = 'scheduled' AND NEW.status IN ('in_progress', 'finished') THEN
        PERFORM candor_webhook_event(NEW.tenant_id, NEW.id, 'interview.started', jsonb_build_object(
          'interviewId', NEW.id,
          'startedAt', to_char(COALESCE(NEW.started_at, now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
      END IF;
      IF NEW.status IN ('finished', 'abandoned') AND OLD.status NOT IN ('finished', 'abandoned') THEN
        PERFORM candor_webhook_event(NEW.tenant_id, NEW.id, 'interview.finished', jsonb_build_object(
          'interviewId', NEW.id,
          'status', NEW.status,
          'finishedAt', to_char(COALESCE(NEW.finished_at, now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
        PERFORM candor_webhook_report_ready(NEW.id);
      END IF;
      RETURN NEW;
    END
    $$`
  yield* sql`
    CREATE TRIGGER interviews_webhook_status AFTER UPDATE OF status ON interviews
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION candor_webhook_interview_status()`
  yield* sql`
    CREATE FUNCTION candor_webhook_scoring_ended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM candor_webhook_report_ready(NEW.interview_id);
      RETURN NEW;
    END
    $$`
  yield* sql`
    CREATE TRIGGER scoring_jobs_webhook_ended AFTER UPDATE OF state ON scoring_jobs
    FOR EACH ROW WHEN (NEW.state IN ('done', 'failed') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION candor_webhook_scoring_ended()`
  yield* sql`
    CREATE FUNCTION candor_webhook_erased() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM candor_webhook_event(NEW.tenant_id, NEW.interview_id, 'interview.erased', jsonb_build_object(
        'interviewId', NEW.interview_id,
        'reason', NEW.reason,
        'erasedAt', to_char(NEW.erased_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
      RETURN NEW;
    END
    $$`
  yield* sql`
    CREATE TRIGGER interview_tombstones_webhook AFTER INSERT ON interview_tombstones
    FOR EACH ROW EXECUTE FUNCTION candor_webhook_erased()`
})
