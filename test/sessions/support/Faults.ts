/**
 * Switchable outages for tests: a SqlClient and a LiveStore that wrap the real ones and fail like an unreachable
 * server while `down` is set. They sit between the live sessions and the real backends, so the rest of the
 * engine (and the machine's real Postgres and Redis) is untouched.
 */
import { makeCompiler } from "@effect/sql-pg/PgClient"
import { Effect, Layer, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlClient from "effect/sql/SqlClient"
import type { Connection } from "effect/sql/SqlConnection"
import { ConnectionError, SqlError } from "effect/sql/SqlError"
import { LiveStore, LiveStoreError } from "../../../src/store/LiveStore.ts"

export interface Outage {
  down: boolean
}

const unreachable = () =>
  new SqlError({
    reason: new ConnectionError({ cause: new Error("simulated outage"), message: "database unreachable (simulated)" })
  })

/** A SqlClient over the real one whose connections fail while the outage lasts. */
export const faultySql = (outage: Outage): Layer.Layer<SqlClient.SqlClient, never, SqlClient.SqlClient> =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.gen(function* () {
      const real = yield* SqlClient.SqlClient
      const guard = <A>(effect: Effect.Effect<A, SqlError>) =>
        Effect.suspend(() => (outage.down ? Effect.fail(unreachable()) : effect))
      const wrap = (c: Connection): Connection => ({
        execute: (sql, params, t) => guard(c.execute(sql, params, t)),
        executeRaw: (sql, params) => guard(c.executeRaw(sql, params)),
        executeStream: (sql, params, t) =>
          Stream.unwrap(
            Effect.sync(() => (outage.down ? Stream.fail(unreachable()) : c.executeStream(sql, params, t)))
          ),
        executeValues: (sql, params) => guard(c.executeValues(sql, params)),
        executeValuesUnprepared: (sql, params) => guard(c.executeValuesUnprepared(sql, params)),
        executeUnprepared: (sql, params, t) => guard(c.executeUnprepared(sql, params, t))
      })
      const acquirer = Effect.andThen(guard(Effect.void), Effect.map(real.reserve, wrap))
      return yield* SqlClient.make({
        acquirer,
        transactionAcquirer: acquirer,
        compiler: makeCompiler(),
        driver: "pg",
        spanAttributes: []
      } as SqlClient.SqlClient.MakeOptions)
    })
  ).pipe(Layer.provide(Reactivity.layer))

/** A LiveStore over the real one whose commands fail while the outage lasts (subscriptions simply go quiet). */
export const faultyLiveStore = (outage: Outage): Layer.Layer<LiveStore, never, LiveStore> =>
  Layer.effect(
    LiveStore,
    Effect.map(LiveStore, (real) => {
      const guard =
        (operation: string) =>
        <A>(effect: Effect.Effect<A, LiveStoreError>) =>
          Effect.suspend(() =>
            outage.down
              ? Effect.fail(new LiveStoreError({ operation, message: "live store unreachable (simulated)" }))
              : effect
          )
      return {
        ...real,
        hset: (key, fields) => guard("hset")(real.hset(key, fields)),
        hgetall: (key) => guard("hgetall")(real.hgetall(key)),
        expire: (key, seconds) => guard("expire")(real.expire(key, seconds)),
        publish: (channel, message) => guard("publish")(real.publish(channel, message)),
        ping: guard("ping")(real.ping)
      }
    })
  )
