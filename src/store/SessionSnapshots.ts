/**
 * What a live session needs to resume after a restart: its last snapshot, the highest event sequence written,
 * and the answers on record (the fallback when no snapshot was written yet).
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { type ConsentStanding, consentStanding } from "./Consents.ts"
import { fromJson } from "./Rows.ts"

export interface StoredSession {
  readonly snapshot: { readonly version: number; readonly state: unknown } | undefined
  readonly maxEventSeq: number
  readonly answers: ReadonlyArray<{ readonly questionId: string; readonly answerId: string; readonly body: string }>
  /** The candidate's consent decisions and the tenant's current notice version. */
  readonly consent: ConsentStanding
}

export interface SessionSnapshotsShape {
  /** What a session resumes from; `undefined` when the interview does not exist (erased). */
  readonly load: (interviewId: string) => Effect.Effect<StoredSession | undefined, SqlError>
}

export class SessionSnapshots extends Context.Service<SessionSnapshots, SessionSnapshotsShape>()(
  "candor/SessionSnapshots"
) {
  static readonly layer = Layer.effect(
    SessionSnapshots,
    Effect.map(SqlClient.SqlClient, (sql) => ({
      load: (interviewId: string) =>
        Effect.gen(function* () {
          const exists = yield* sql`SELECT tenant_id FROM interviews WHERE id = ${interviewId}`
          if (exists.length === 0) return undefined
          const consent = yield* consentStanding(String((exists[0] as any).tenant_id), interviewId).pipe(
            Effect.provideService(SqlClient.SqlClient, sql)
          )
          const snapshots = yield* sql`SELECT version, state FROM session_snapshots WHERE interview_id = ${interviewId}`
          const seqs =
            yield* sql`SELECT COALESCE(max(seq), 0)::int AS n FROM score_events WHERE interview_id = ${interviewId}`
          const answers = yield* sql`
            SELECT id, question_id, body FROM answers WHERE interview_id = ${interviewId} ORDER BY created_at`
          const s = snapshots[0] as { version: number; state: unknown } | undefined
          return {
            snapshot: s === undefined ? undefined : { version: Number(s.version), state: fromJson(s.state) },
            maxEventSeq: Number((seqs[0] as { n: number }).n),
            answers: answers.map((a: any) => ({ questionId: a.question_id, answerId: a.id, body: a.body })),
            consent
          }
        }).pipe(Effect.withSpan("SessionSnapshots.load"))
    }))
  )
}
