/** Started, unfinished interviews whose session has been quiet since before a cutoff (for the abandon sweep). */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

export interface IdleInterview {
  readonly id: string
  readonly tenantId: string
}

export class IdleInterviewsSweep extends Context.Service<
  IdleInterviewsSweep,
  { readonly find: (cutoff: Date, limit: number) => Effect.Effect<ReadonlyArray<IdleInterview>, SqlError> }
>()("candor/IdleInterviews") {
  /**
   * The session's last snapshot is written while frames flow and when the session stops (its socket gone), so its
   * time is when the candidate was last seen; an interview without one counts from when it started.
   */
  static readonly layer = Layer.effect(
    IdleInterviewsSweep,
    Effect.map(SqlClient.SqlClient, (sql) => ({
      find: (cutoff: Date, limit: number) =>
        sql`
          SELECT i.id, i.tenant_id FROM interviews i LEFT JOIN session_snapshots s ON s.interview_id = i.id
          WHERE i.status = 'in_progress'
            AND COALESCE(s.updated_at, i.started_at, i.created_at) < ${cutoff.toISOString()}::timestamptz
          ORDER BY i.id
          LIMIT ${limit}`.pipe(
          Effect.map((rows) => rows.map((r: any): IdleInterview => ({ id: r.id, tenantId: r.tenant_id })))
        )
    }))
  )
}
