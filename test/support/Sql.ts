/** Reads a real Postgres database directly (not through the engine under test), for checking what was committed. */
import * as Pg from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

export const queryPostgres = <A = Record<string, unknown>>(
  databaseUrl: string,
  text: string,
  params: ReadonlyArray<unknown> = []
): Promise<ReadonlyArray<A>> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return (yield* sql.unsafe(text, params as Array<unknown>)) as unknown as ReadonlyArray<A>
      }).pipe(Effect.provide(Pg.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })))
    )
  )
