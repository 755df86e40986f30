/** Creates and drops throw-away databases on the real Postgres server for test isolation. */
import * as Pg from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import * as SqlClient from "effect/sql/SqlClient"

const withAdmin = <A>(databaseUrl: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* f(sql)
    }).pipe(Effect.provide(Pg.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })))
  )

const safe = (name: string) => {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsafe database name ${name}`)
  return name
}

export const PgClient = {
  createDatabase: (databaseUrl: string, name: string) =>
    withAdmin(databaseUrl, (sql) => sql.unsafe(`CREATE DATABASE ${safe(name)}`)).then(() => undefined),
  dropDatabase: (databaseUrl: string, name: string) =>
    withAdmin(databaseUrl, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${safe(name)} WITH (FORCE)`)).then(
      () => undefined
    )
}
