/**
 * The cluster's persisted messages (effect/cluster's `cluster_messages` and `cluster_replies`) carry candidates'
 * commands, answers' text among them. They are needed only until they are processed and for a while after, to
 * recognise a resend; then they go, so that nothing personal outlives its interview's retention or erasure.
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

export class ClusterMessages extends Context.Service<
  ClusterMessages,
  {
    /** Deletes processed messages last read before `cutoff`, with their replies; returns how many messages. */
    readonly purgeProcessed: (cutoff: Date) => Effect.Effect<number, SqlError>
  }
>()("candor/ClusterMessages") {
  static readonly layer = Layer.effect(
    ClusterMessages,
    Effect.map(SqlClient.SqlClient, (sql) => ({
      purgeProcessed: (cutoff: Date) =>
        Effect.gen(function* () {
          const at = cutoff.toISOString()
          yield* sql`
            DELETE FROM cluster_replies WHERE request_id IN (
              SELECT id FROM cluster_messages WHERE processed AND last_read < ${at}::timestamptz
            )`
          const rows = yield* sql`
            DELETE FROM cluster_messages WHERE processed AND last_read < ${at}::timestamptz RETURNING id`
          return rows.length
        }).pipe(sql.withTransaction)
    }))
  )
}
