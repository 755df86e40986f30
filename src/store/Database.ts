/**
 * The system of record: Postgres through @effect/sql-pg when `DATABASE_URL` is set, otherwise embedded PGlite.
 * Either way, migrations are applied before the layer is ready.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Layer, type Redacted } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import * as Fs from "node:fs"
import { AppConfig } from "../config.ts"
import { runMigrations } from "./Migrations.ts"
import * as PgliteClient from "./PgliteClient.ts"

/** A Postgres `SqlClient` for `url` (the engine's, and the bench's runners on a throw-away database). */
export const postgresClient = (
  url: Redacted.Redacted,
  maxConnections = 10
): Layer.Layer<SqlClient.SqlClient, SqlError> => PgClient.layer({ url, applicationName: "candor", maxConnections })

/** `SqlClient` for the configured backend, without running migrations. */
export const layerClient = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (config.databaseUrl !== undefined) {
      return postgresClient(config.databaseUrl)
    }
    if (config.pgliteDir !== ":memory:") Fs.mkdirSync(config.pgliteDir, { recursive: true })
    return PgliteClient.layer(config.pgliteDir)
  })
)

/** `SqlClient` with every migration applied. */
export const layer = Layer.effectDiscard(
  runMigrations.pipe(
    Effect.tap((applied) =>
      applied.length > 0
        ? Effect.logInfo(`migrations applied: ${applied.map(([id, n]) => `${id}_${n}`).join(", ")}`)
        : Effect.void
    )
  )
).pipe(Layer.provideMerge(layerClient))

/** Whether the database answers (readiness). */
export const ping: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`SELECT 1`
).pipe(Effect.asVoid)
