/** Score events and per-second windows as recorded by live sessions, for reports. Reads only. */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { fromJson } from "./Rows.ts"
import type { ScoreWindowRow } from "./SessionWrites.ts"

/** `real` columns come back as float4 widened to double (0.8 → 0.800000011920929); values are stored to 4 decimals. */
const real = (value: unknown): number | null =>
  value === null || value === undefined ? null : Math.round(Number(value) * 10_000) / 10_000

export interface ScoreEventsRepoShape {
  /** Events of an interview in sequence order. */
  readonly events: (interviewId: string) => Effect.Effect<ReadonlyArray<ScoreEvent>, SqlError>
  readonly windows: (interviewId: string) => Effect.Effect<ReadonlyArray<ScoreWindowRow>, SqlError>
}

export class ScoreEventsRepo extends Context.Service<ScoreEventsRepo, ScoreEventsRepoShape>()(
  "candor/ScoreEventsRepo"
) {
  static readonly layer = Layer.effect(
    ScoreEventsRepo,
    Effect.map(SqlClient.SqlClient, (sql) => ({
      events: (interviewId: string) =>
        sql`SELECT payload FROM score_events WHERE interview_id = ${interviewId} ORDER BY seq`.pipe(
          Effect.map((rows) => rows.map((r: any) => fromJson<ScoreEvent>(r.payload))),
          Effect.withSpan("ScoreEventsRepo.events")
        ),
      windows: (interviewId: string) =>
        sql`SELECT * FROM score_windows WHERE interview_id = ${interviewId} ORDER BY second`.pipe(
          Effect.map((rows) =>
            rows.map(
              (r: any): ScoreWindowRow => ({
                second: r.second,
                questionId: r.question_id,
                frames: r.frames,
                facePresence: real(r.face_present)!,
                blinks: r.blinks,
                earMean: real(r.ear_mean),
                emotion: r.emotion === null ? null : fromJson(r.emotion)
              })
            )
          ),
          Effect.withSpan("ScoreEventsRepo.windows")
        )
    }))
  )
}
