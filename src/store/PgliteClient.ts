/**
 * An in-process `SqlClient` over PGlite (PostgreSQL compiled to WebAssembly), so that Candor runs with no database
 * server installed. PGlite is a single connection: statements and transactions share it through a semaphore.
 */
import type { PGlite } from "@electric-sql/pglite"
import { makeCompiler } from "@effect/sql-pg/PgClient"
import { Effect, Layer, Semaphore, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import { SqlError, UnknownError } from "effect/sql/SqlError"
import { openPglite } from "./PgliteTemplate.ts"

const toSqlError = (cause: unknown, operation: string) =>
  new SqlError({
    reason: new UnknownError({
      cause,
      message: cause instanceof Error ? cause.message : String(cause),
      operation
    })
  })

const makeConnection = (db: PGlite): SqlConnection.Connection => {
  const run = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => db.query<Record<string, unknown>>(sql, params as Array<unknown>),
      catch: (cause) => toSqlError(cause, "execute")
    })
  const rows = (sql: string, params: ReadonlyArray<unknown>) => Effect.map(run(sql, params), (r) => r.rows)
  const values = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => db.query<Array<unknown>>(sql, params as Array<unknown>, { rowMode: "array" }),
      catch: (cause) => toSqlError(cause, "execute")
    }).pipe(Effect.map((r) => r.rows))
  const transformed = (sql: string, params: ReadonlyArray<unknown>, transform: ((rows: any) => any) | undefined) =>
    transform === undefined ? rows(sql, params) : Effect.map(rows(sql, params), transform)
  return {
    execute: transformed,
    executeRaw: run,
    executeStream: (sql, params, transform) => Stream.fromIterableEffect(transformed(sql, params, transform)),
    executeValues: values,
    executeValuesUnprepared: values,
    executeUnprepared: transformed
  }
}

/** Opens PGlite at `dataDir` (or in memory; a new database from the cached initdb) and closes it with the scope. */
export const make = (dataDir: string) =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          return await openPglite(dataDir)
        },
        catch: (cause) => toSqlError(cause, "connect")
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const connection = makeConnection(db)
    const semaphore = yield* Semaphore.make(1)
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore,
      isTransaction: () => db.isInTransaction()
    })
    return yield* SqlClient.make({
      ...acquirers,
      compiler: makeCompiler(),
      driver: "pglite",
      releaseSavepoint: (name: string) => `RELEASE SAVEPOINT ${name}`,
      spanAttributes: [["db.system.name", "postgresql"]]
    } as SqlClient.SqlClient.MakeOptions)
  })

/** `SqlClient` backed by PGlite. */
export const layer = (dataDir: string): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(dataDir)).pipe(Layer.provide(Reactivity.layer))
