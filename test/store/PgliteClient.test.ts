/**
 * The embedded database's own contracts, now that PGlite runs in a worker thread: errors keep PostgreSQL's fields,
 * transactions hold the single connection and roll back, values arrive exactly as in-process PGlite returns them,
 * and the thread's end — closed or crashed — is never a hang.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { SqlError } from "effect/sql/SqlError"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as PgliteClient from "../../src/store/PgliteClient.ts"
import { openPglite } from "../../src/store/PgliteTemplate.ts"

const run = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>, dataDir = ":memory:") =>
  Effect.runPromise(Effect.provide(effect, PgliteClient.layer(dataDir)))

const failure = <A>(exit: Exit.Exit<A, unknown>): SqlError => {
  expect(Exit.isFailure(exit)).toBe(true)
  const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
  expect(error).toBeInstanceOf(SqlError)
  return error as SqlError
}

describe("PGlite in a worker thread", () => {
  it("keeps a PostgreSQL error's message, code and fields", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (id int PRIMARY KEY, parent int REFERENCES t (id))`
        yield* sql`INSERT INTO t (id) VALUES (1)`
        return yield* Effect.exit(sql`INSERT INTO t (id) VALUES (1)`)
      })
    )
    const error = failure(exit)
    expect(error.reason._tag).toBe("UnknownError")
    const cause = error.reason.cause as Record<string, unknown>
    expect(cause).toBeInstanceOf(Error)
    expect(cause.message).toBe('duplicate key value violates unique constraint "t_pkey"')
    expect(error.message).toContain("t_pkey")
    expect(cause).toMatchObject({ code: "23505", constraint: "t_pkey", table: "t", severity: "ERROR" })
    expect(cause.detail).toBe("Key (id)=(1) already exists.")

    const syntax = failure(await run(Effect.exit(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELEC 1`))))
    expect(syntax.reason.cause).toMatchObject({ code: "42601" })
  })

  it("rolls a failed transaction back, savepoints included, and holds the connection while it runs", async () => {
    const outcome = await run(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (id int PRIMARY KEY)`
        const failed = yield* Effect.exit(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`INSERT INTO t VALUES (1)`
              const inside = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM t`
              expect(inside[0]!.n).toBe(1)
              yield* sql`INSERT INTO t VALUES (1)`
            })
          )
        )
        expect(Exit.isFailure(failed)).toBe(true)
        const afterFailure = yield* sql<{ id: number }>`SELECT id FROM t`

        // A statement from another fiber waits for the transaction to end, then sees what it committed.
        const begun = yield* Deferred.make<void>()
        const transaction = yield* Effect.forkChild(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`INSERT INTO t VALUES (2)`
              yield* Deferred.succeed(begun, undefined)
              yield* Effect.sleep("100 millis")
              yield* Effect.exit(sql.withTransaction(sql`INSERT INTO t VALUES (2)`))
              yield* sql`INSERT INTO t VALUES (3)`
            })
          )
        )
        yield* Deferred.await(begun)
        const seen = yield* sql<{ id: number }>`SELECT id FROM t ORDER BY id`
        yield* Fiber.join(transaction)
        return { afterFailure, seen }
      })
    )
    expect(outcome.afterFailure).toEqual([])
    expect(outcome.seen).toEqual([{ id: 2 }, { id: 3 }])
  })

  it("returns every type as in-process PGlite does", async () => {
    const text = `SELECT 1::int8 AS i8, 2::int4 AS i4, 1.5::numeric AS n, 1.5::float8 AS f, true AS b, NULL AS nul,
      '2024-02-29T12:34:56.789Z'::timestamptz AS ts, '2024-02-29'::date AS d, '2024-02-29 01:02:03'::timestamp AS tsn,
      '\\x00ff10'::bytea AS bytes, '{"a":[1,{"b":null}],"c":"é"}'::jsonb AS j, '[1,"x"]'::json AS js,
      ARRAY[1,2,3] AS arr, ARRAY['a','b'] AS texts, interval '1 day 2 hours' AS iv,
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, $1::bytea AS param_bytes, $2::timestamptz AS param_ts,
      $3::jsonb AS param_json`
    const params = [new Uint8Array([1, 2, 3]), new Date("2020-01-02T03:04:05.678Z"), JSON.stringify({ k: [1, 2] })]
    const direct = await openPglite(":memory:")
    const expected = await direct.query(text, params)
    const expectedValues = await direct.query(text, params, { rowMode: "array" })
    await direct.close()

    const got = await run(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return {
          rows: yield* sql.unsafe(text, params),
          values: yield* sql.unsafe(text, params).values
        }
      })
    )
    expect(got.rows).toEqual(expected.rows)
    expect(got.values).toEqual(expectedValues.rows)
    const row = got.rows[0] as Record<string, unknown>
    expect(row.ts).toBeInstanceOf(Date)
    expect(row.bytes).toBeInstanceOf(Uint8Array)
    expect(row.j).toEqual({ a: [1, { b: null }], c: "é" })
  })

  it("closes PGlite with the scope (its data directory kept) and then stops the thread", async () => {
    const dir = mkdtempSync(join(tmpdir(), "candor-pglite-worker-"))
    try {
      const dataDir = join(dir, "pg")
      let threadId = -1
      let exited = false
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const db = yield* PgliteClient.start(dataDir)
            threadId = db.worker.threadId
            db.worker.on("exit", () => {
              exited = true
            })
            yield* db.query("CREATE TABLE kept (x text)", [], "object", false)
            yield* db.query("INSERT INTO kept VALUES ('there')", [], "object", false)
          })
        )
      )
      expect(threadId).toBeGreaterThan(0)
      expect(exited).toBe(true)
      expect(
        await run(
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT x FROM kept`),
          dataDir
        )
      ).toEqual([{ x: "there" }])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("fails statements with a ConnectionError, not a hang, when the thread dies", async () => {
    const errors = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const db = yield* PgliteClient.start(":memory:")
          const inFlight = yield* Effect.forkChild(Effect.exit(db.query("SELECT pg_sleep(5)", [], "object", false)))
          yield* Effect.sleep("100 millis")
          yield* Effect.promise(() => db.worker.terminate())
          const during = failure(yield* Fiber.join(inFlight))
          const after = failure(yield* Effect.exit(db.query("SELECT 1", [], "object", false)))
          return [during, after]
        })
      )
    )
    for (const error of errors) {
      expect(error.reason._tag).toBe("ConnectionError")
      expect(error.message).toContain("embedded database")
    }
  })
})
