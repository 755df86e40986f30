/** Answers as recorded by live sessions, for reports and exports. Reads only; sessions write through WriteBehind. */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { toIso } from "./Rows.ts"

export interface AnswerRecord {
  readonly id: string
  readonly interviewId: string
  readonly questionId: string
  readonly source: "text" | "audio"
  readonly body: string
  readonly createdAt: string
}

export interface AnswersRepoShape {
  /** Answers of an interview in question order. */
  readonly list: (interviewId: string) => Effect.Effect<ReadonlyArray<AnswerRecord>, SqlError>
}

export class AnswersRepo extends Context.Service<AnswersRepo, AnswersRepoShape>()("candor/AnswersRepo") {
  static readonly layer = Layer.effect(
    AnswersRepo,
    Effect.map(SqlClient.SqlClient, (sql) => ({
      list: (interviewId: string) =>
        sql`
          SELECT a.* FROM answers a JOIN questions q ON q.id = a.question_id
          WHERE a.interview_id = ${interviewId} ORDER BY q.position, a.created_at`.pipe(
          Effect.map((rows) =>
            rows.map(
              (r: any): AnswerRecord => ({
                id: r.id,
                interviewId: r.interview_id,
                questionId: r.question_id,
                source: r.source,
                body: r.body,
                createdAt: toIso(r.created_at)
              })
            )
          ),
          Effect.withSpan("AnswersRepo.list")
        )
    }))
  )
}
