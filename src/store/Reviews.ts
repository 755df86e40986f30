/**
 * Human reviews of an interview: who reviewed, an optional 1–5 rating, the decision (advance, hold, reject) and
 * notes. Storing one also drops the cached report (it lists the reviews) and writes an audit entry, all in one
 * transaction. The audit entry holds the decision and rating but not the notes, since the log outlives erasure.
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type { CreateReviewRequest, Review } from "../../schemas/Report.ts"
import { AuditLog } from "./AuditLog.ts"
import { newId, toIso } from "./Rows.ts"

export interface ReviewsShape {
  readonly add: (
    target: { readonly tenantId: string; readonly interviewId: string },
    input: CreateReviewRequest,
    actor: string,
    /** The client's address, for the audit entry. */
    source?: string
  ) => Effect.Effect<Review, SqlError>
  readonly list: (interviewId: string) => Effect.Effect<ReadonlyArray<Review>, SqlError>
}

/** A `reviews` row as the API shows it. */
export const toReview = (r: any): Review => ({
  id: r.id,
  reviewer: r.reviewer,
  rating: r.rating,
  decision: r.decision,
  notes: r.notes,
  createdAt: toIso(r.created_at)
})

export class Reviews extends Context.Service<Reviews, ReviewsShape>()("candor/Reviews") {
  static readonly layer = Layer.effect(
    Reviews,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog
      return {
        add: (target, input, actor, source) =>
          Effect.gen(function* () {
            const rows = yield* sql`
              INSERT INTO reviews (id, interview_id, reviewer, rating, decision, notes)
              VALUES (${newId()}, ${target.interviewId}, ${input.reviewer.trim()}, ${input.rating ?? null},
                      ${input.decision}, ${input.notes ?? ""})
              RETURNING *`
            yield* sql`DELETE FROM reports WHERE interview_id = ${target.interviewId}`
            const review = toReview(rows[0])
            yield* audit.record({
              tenantId: target.tenantId,
              actor,
              action: "review.create",
              subject: target.interviewId,
              detail: { reviewId: review.id, decision: review.decision, rating: review.rating },
              ...(source === undefined ? {} : { source })
            })
            return review
          }).pipe(sql.withTransaction, Effect.withSpan("Reviews.add")),
        list: (interviewId) =>
          sql`SELECT * FROM reviews WHERE interview_id = ${interviewId} ORDER BY created_at, id`.pipe(
            Effect.map((rows) => rows.map(toReview)),
            Effect.withSpan("Reviews.list")
          )
      }
    })
  )
}
