/**
 * A fresh Postgres database for one bench engine, dropped afterwards: the bench never writes into a database
 * someone uses, and runs never see each other's rows.
 */
import * as Pg from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { randomBytes } from "node:crypto"

const admin = (serverUrl: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(statement)
    }).pipe(Effect.provide(Pg.layer({ url: Redacted.make(serverUrl), maxConnections: 1 })))
  )

export interface ThrowawayDatabase {
  /** Connection string of the new database. */
  readonly url: string
  readonly drop: () => Promise<void>
}

/** Creates `candor_bench_<random>` on the server of `serverUrl` (which must allow CREATE DATABASE). */
export const createThrowawayDatabase = async (serverUrl: string): Promise<ThrowawayDatabase> => {
  const name = `candor_bench_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`
  await admin(serverUrl, `CREATE DATABASE ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}
