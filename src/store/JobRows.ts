/**
 * The SQL side of durable jobs: enqueue (idempotent by key), claim due jobs of known kinds under a lease
 * (`FOR UPDATE SKIP LOCKED`: engines sharing a Postgres claim side by side; PGlite has one connection), renew,
 * report progress, and end a claim. Every change after the claim is fenced by the lease token: an engine whose
 * lease ran out and was taken over cannot overwrite the newer claim's outcome.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { EnqueueOptions, JobStatus, JobView } from "../jobs/Jobs.ts"
import { newId, toIso, toIsoOrNull } from "./Rows.ts"

export interface ClaimedJobRow {
  readonly id: string
  readonly kind: string
  readonly payload: unknown
  readonly attempts: number
  readonly maxAttempts: number
  readonly tenantId: string | null
  readonly interviewId: string | null
  readonly owner: string
}

export type JobEnd =
  | { readonly state: "succeeded"; readonly result: unknown }
  | { readonly state: "failed"; readonly error: string }
  | { readonly state: "queued"; readonly error: string; readonly retryInMs: number }

const toView = (r: any): JobView => ({
  id: r.id,
  kind: r.kind,
  status: r.state as JobStatus,
  progress: Number(r.progress),
  error: r.last_error ?? null,
  attempts: Number(r.attempts),
  tenantId: r.tenant_id ?? null,
  interviewId: r.interview_id ?? null,
  result: r.result_text === null || r.result_text === undefined ? null : JSON.parse(r.result_text),
  createdAt: toIso(r.created_at),
  updatedAt: toIso(r.updated_at),
  finishedAt: toIsoOrNull(r.finished_at)
})

const ms = (n: number) => Math.max(0, Math.round(n))

export const makeJobRows = Effect.map(SqlClient.SqlClient, (sql) => {
  const enqueue = (
    kind: string,
    payload: unknown,
    options: EnqueueOptions = {}
  ): Effect.Effect<{ id: string; created: boolean }, SqlError> =>
    Effect.gen(function* () {
      const id = newId()
      const runAt = (options.runAt ?? new Date()).toISOString()
      const inserted = yield* sql`
        INSERT INTO jobs (id, kind, key, tenant_id, interview_id, payload, max_attempts, run_at)
        VALUES (${id}, ${kind}, ${options.key ?? null}, ${options.tenantId ?? null}, ${options.interviewId ?? null},
                ${JSON.stringify(payload ?? null)}::jsonb, ${options.maxAttempts ?? 5}, ${runAt}::timestamptz)
        ON CONFLICT (key) DO NOTHING
        RETURNING id`
      if (inserted.length > 0) return { id, created: true }
      const existing = yield* sql`SELECT id FROM jobs WHERE key = ${options.key ?? null}`
      return { id: (existing[0] as any).id as string, created: false }
    }).pipe(Effect.withSpan("Jobs.enqueue"))

  const get = (id: string): Effect.Effect<JobView | undefined, SqlError> =>
    sql`SELECT *, result::text AS result_text FROM jobs WHERE id = ${id}`.pipe(
      Effect.map((rows) => (rows.length === 0 ? undefined : toView(rows[0])))
    )

  const claim = (options: {
    readonly kinds: ReadonlyArray<string>
    readonly limit: number
    readonly leaseMs: number
  }): Effect.Effect<ReadonlyArray<ClaimedJobRow>, SqlError> =>
    Effect.gen(function* () {
      if (options.kinds.length === 0 || options.limit <= 0) return []
      const owner = newId()
      const rows = yield* sql`
        UPDATE jobs SET
          state = 'running', attempts = attempts + 1, lease_owner = ${owner},
          lease_until = now() + ${ms(options.leaseMs)}::int * interval '1 millisecond', updated_at = now()
        WHERE id IN (
          SELECT id FROM jobs
          WHERE kind IN ${sql.in(options.kinds)}
            AND ((state = 'queued' AND run_at <= now()) OR (state = 'running' AND lease_until <= now()))
          ORDER BY run_at, id
          LIMIT ${options.limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, payload::text AS payload_text, attempts, max_attempts, tenant_id, interview_id`
      return rows.map(
        (r: any): ClaimedJobRow => ({
          id: r.id,
          kind: r.kind,
          // As text: a JSON string payload would otherwise come back already decoded on one driver, not the other.
          payload: JSON.parse(r.payload_text),
          attempts: Number(r.attempts),
          maxAttempts: Number(r.max_attempts),
          tenantId: r.tenant_id ?? null,
          interviewId: r.interview_id ?? null,
          owner
        })
      )
    }).pipe(Effect.withSpan("Jobs.claim"))

  /** Extends a claim; false when it was lost (taken over, or the job is gone). */
  const renew = (job: ClaimedJobRow, leaseMs: number): Effect.Effect<boolean, SqlError> =>
    sql`
      UPDATE jobs SET lease_until = now() + ${ms(leaseMs)}::int * interval '1 millisecond', updated_at = now()
      WHERE id = ${job.id} AND lease_owner = ${job.owner} AND state = 'running'
      RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))

  const progress = (job: ClaimedJobRow, fraction: number): Effect.Effect<void, SqlError> =>
    sql`
      UPDATE jobs SET progress = ${Math.min(1, Math.max(0, fraction))}, updated_at = now()
      WHERE id = ${job.id} AND lease_owner = ${job.owner} AND state = 'running'`.pipe(Effect.asVoid)

  /** Ends a claim; false when the lease was lost. */
  const end = (job: ClaimedJobRow, outcome: JobEnd): Effect.Effect<boolean, SqlError> => {
    const done = outcome.state !== "queued"
    const result = outcome.state === "succeeded" ? JSON.stringify(outcome.result ?? null) : null
    const error = outcome.state === "succeeded" ? null : outcome.error
    const delay = outcome.state === "queued" ? ms(outcome.retryInMs) : 0
    return sql`
      UPDATE jobs SET state = ${outcome.state}, result = ${result}::jsonb, last_error = ${error},
        progress = CASE WHEN ${outcome.state} = 'succeeded' THEN 1 ELSE progress END,
        lease_owner = NULL, lease_until = NULL, updated_at = now(),
        run_at = now() + ${delay}::int * interval '1 millisecond',
        finished_at = CASE WHEN ${done} THEN now() ELSE NULL END
      WHERE id = ${job.id} AND lease_owner = ${job.owner} AND state = 'running'
      RETURNING id`.pipe(
      Effect.map((rows) => rows.length > 0),
      Effect.withSpan("Jobs.end")
    )
  }

  /** Hands a claim back unfinished (shutdown): due at once, and the attempt does not count. */
  const release = (job: ClaimedJobRow): Effect.Effect<void, SqlError> =>
    sql`
      UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, lease_until = NULL,
        run_at = now(), updated_at = now()
      WHERE id = ${job.id} AND lease_owner = ${job.owner} AND state = 'running'`.pipe(Effect.asVoid)

  /** Forgets finished runs of scheduled kinds older than `keepMs` (one row per period would pile up). */
  const prune = (kinds: ReadonlyArray<string>, keepMs: number): Effect.Effect<void, SqlError> =>
    kinds.length === 0
      ? Effect.void
      : sql`
          DELETE FROM jobs WHERE kind IN ${sql.in(kinds)} AND state IN ('succeeded', 'failed')
            AND finished_at < now() - ${ms(keepMs)}::int * interval '1 millisecond'`.pipe(Effect.asVoid)

  /**
   * Makes every running job due again at once: for an embedded database, which one engine at a time holds, any
   * claim found at start is one of a previous run of this engine that was killed.
   */
  const recoverOrphans: Effect.Effect<number, SqlError> = sql`
    UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, run_at = now(), updated_at = now()
    WHERE state = 'running'
    RETURNING id`.pipe(Effect.map((rows) => rows.length))

  return { enqueue, get, claim, renew, progress, end, release, prune, recoverOrphans }
})

export type JobRows = Effect.Success<typeof makeJobRows>
