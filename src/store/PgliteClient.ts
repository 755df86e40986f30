/**
 * A `SqlClient` over PGlite (PostgreSQL compiled to WebAssembly), so that Candor runs with no database server
 * installed. PGlite runs synchronously on the thread that calls it, statements and checkpoints alike, so it runs in
 * a worker thread of its own (`pgliteWorker.ts`) and this thread only sends statements and receives rows: the
 * engine's main thread no longer stalls while the database works. PGlite is a single connection: statements and
 * transactions share it through a semaphore, and a transaction holds it across its round-trips.
 */
import { makeCompiler } from "@effect/sql-pg/PgClient"
import { Effect, Layer, Metric, Option, type Scope, Semaphore, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import { ConnectionError, SqlError, UnknownError } from "effect/sql/SqlError"
import { Worker } from "node:worker_threads"
import { Metrics } from "../Metrics.ts"
import type { ErrorFields, QueryRequest, Reply, Request, Started } from "./pgliteWorker.ts"

const entry = new URL("./pgliteWorkerEntry.mjs", import.meta.url)

/** How long closing waits for PGlite to close (and flush its data directory) before the thread is stopped. */
const CLOSE_TIMEOUT_MS = 30_000

/** The worker thread stopped or failed: nothing sent to it will be answered. */
class WorkerGone extends Error {}

/** A PostgreSQL error as PGlite raised it in the worker: its message and fields (code, detail, constraint, …). */
const fromFields = (fields: ErrorFields): Error => {
  const error = new Error(String(fields.message ?? "unknown error"))
  for (const [key, value] of Object.entries(fields)) if (key !== "message") Object.assign(error, { [key]: value })
  return error
}

const toSqlError = (cause: unknown, operation: string) =>
  new SqlError({
    reason:
      cause instanceof WorkerGone
        ? new ConnectionError({ cause, message: cause.message, operation })
        : new UnknownError({ cause, message: cause instanceof Error ? cause.message : String(cause), operation })
  })

/** The embedded database's thread, as seen from this one. */
export interface PgliteWorker {
  readonly worker: Worker
  /** Whether the last statement left a transaction open. */
  readonly inTransaction: () => boolean
  /** The thread's CPU seconds as of its last answer; undefined where the platform does not say. */
  readonly cpuSeconds: () => number | undefined
  readonly query: (
    sql: string,
    params: ReadonlyArray<unknown>,
    rowMode: "object" | "array",
    raw: boolean
  ) => Effect.Effect<unknown, SqlError>
}

/**
 * Starts the thread and opens PGlite in it at `dataDir` (or in memory; a new database from the cached initdb).
 * Closing the scope closes PGlite there, then stops the thread. A thread that dies fails every statement sent to it,
 * waiting or later, with a `ConnectionError`.
 */
export const start = (dataDir: string): Effect.Effect<PgliteWorker, SqlError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => spawn(dataDir),
      catch: (cause) => toSqlError(cause, "connect")
    }),
    (handle) => Effect.promise(() => handle.close())
  ).pipe(Effect.map((handle) => handle.api))

const spawn = (dataDir: string): Promise<{ readonly api: PgliteWorker; readonly close: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(entry, { workerData: { dataDir } })
    const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>()
    let nextId = 0
    let inTransaction = false
    let cpuSeconds: number | undefined
    let gone: WorkerGone | undefined
    let ready = false

    const fail = (error: WorkerGone) => {
      if (gone !== undefined) return
      gone = error
      if (!ready) reject(error)
      for (const p of pending.values()) p.reject(error)
      pending.clear()
    }
    worker.on("error", (error) => fail(new WorkerGone(`embedded database thread failed: ${error.message}`)))
    worker.on("exit", (code) => fail(new WorkerGone(`embedded database thread exited (code ${code})`)))
    worker.on("message", (message: Reply | Started) => {
      if ("type" in message) {
        if (message.type === "ready") {
          ready = true
          cpuSeconds = message.cpuSeconds
          worker.unref()
          resolve({ api, close })
        } else {
          reject(fromFields(message.error))
          void worker.terminate()
        }
        return
      }
      const p = pending.get(message.id)
      if (p === undefined) return
      pending.delete(message.id)
      // The thread keeps the process alive only while it owes an answer.
      if (pending.size === 0) worker.unref()
      inTransaction = message.inTransaction
      cpuSeconds = message.cpuSeconds
      if (message.ok) p.resolve(message.result)
      else p.reject(fromFields(message.error))
    })

    const send = (request: Request) =>
      new Promise<unknown>((resolve, reject) => {
        if (gone !== undefined) return reject(gone)
        try {
          // Throws on a parameter that cannot be cloned; nothing is then owed.
          worker.postMessage(request)
        } catch (error) {
          return reject(error)
        }
        if (pending.size === 0) worker.ref()
        pending.set(request.id, { resolve, reject })
      })

    const close = async () => {
      if (gone === undefined) {
        let timer: ReturnType<typeof setTimeout> | undefined
        await Promise.race([
          send({ type: "close", id: nextId++ }).catch(() => undefined),
          new Promise((resolve) => {
            timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)
          })
        ])
        clearTimeout(timer)
      }
      fail(new WorkerGone("embedded database closed"))
      await worker.terminate()
    }

    const api: PgliteWorker = {
      worker,
      inTransaction: () => inTransaction,
      cpuSeconds: () => cpuSeconds,
      query: (sql, params, rowMode, raw) =>
        Effect.tryPromise({
          try: () => send({ type: "query", id: nextId++, sql, params, rowMode, raw } satisfies QueryRequest),
          catch: (cause) => toSqlError(cause, "execute")
        })
    }
  })

const makeConnection = (db: PgliteWorker): SqlConnection.Connection => {
  const rows = (sql: string, params: ReadonlyArray<unknown>) =>
    db.query(sql, params, "object", false) as Effect.Effect<ReadonlyArray<any>, SqlError>
  const values = (sql: string, params: ReadonlyArray<unknown>) =>
    db.query(sql, params, "array", false) as Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError>
  const transformed = (sql: string, params: ReadonlyArray<unknown>, transform: ((rows: any) => any) | undefined) =>
    transform === undefined ? rows(sql, params) : Effect.map(rows(sql, params), transform)
  return {
    execute: transformed,
    executeRaw: (sql, params) => db.query(sql, params, "object", true),
    executeStream: (sql, params, transform) => Stream.fromIterableEffect(transformed(sql, params, transform)),
    executeValues: values,
    executeValuesUnprepared: values,
    executeUnprepared: transformed
  }
}

const databaseCpu = Metric.counter("candor_embedded_database_cpu_seconds_total", {
  description: "CPU time of the embedded database's thread (PGlite).",
  incremental: true
})

/**
 * A `SqlClient` over PGlite at `dataDir` in its own thread; closing the scope closes the database and the thread.
 * With the engine's `Metrics` in context, the thread's CPU time is on `/metrics` (where the platform reports it).
 */
export const make = (dataDir: string) =>
  Effect.gen(function* () {
    const db = yield* start(dataDir)
    const metrics = yield* Effect.serviceOption(Metrics)
    if (Option.isSome(metrics) && db.cpuSeconds() !== undefined)
      yield* Effect.acquireRelease(
        Effect.sync(() => metrics.value.sample(databaseCpu, () => db.cpuSeconds() ?? 0)),
        (remove) => Effect.sync(remove)
      )
    const connection = makeConnection(db)
    const semaphore = yield* Semaphore.make(1)
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore,
      isTransaction: () => db.inTransaction()
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
