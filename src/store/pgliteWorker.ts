/**
 * The embedded database's thread (started by `PgliteClient.ts` through `pgliteWorkerEntry.mjs`). PGlite is
 * PostgreSQL compiled to WebAssembly and runs every statement and checkpoint synchronously on the thread that
 * calls it, so it gets a thread of its own and the engine's main thread only posts statements and reads rows.
 *
 * Protocol: `workerData.dataDir` is opened first, then `{ type: "ready" }` or `{ type: "failed", error }` is
 * posted. Each request `{ id, type: "query", sql, params, rowMode, raw }` gets one reply `{ id, ok, … ,
 * inTransaction, cpuSeconds }`; `{ id, type: "close" }` closes PGlite (flushing a data directory on disk) and is answered
 * last. Rows cross by structured clone, which keeps what PGlite returns (Date, Uint8Array, parsed JSON, …); an
 * error crosses as its message and PostgreSQL's fields (code, detail, constraint, …), which a clone would drop.
 */
import type { PGlite } from "@electric-sql/pglite"
import { parentPort, workerData } from "node:worker_threads"
import { threadCpuSeconds } from "../ThreadCpu.ts"
import { openPglite } from "./PgliteTemplate.ts"

export interface QueryRequest {
  readonly type: "query"
  readonly id: number
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
  readonly rowMode: "object" | "array"
  /** The whole result (rows, fields, affectedRows, …) rather than its rows. */
  readonly raw: boolean
}

export interface CloseRequest {
  readonly type: "close"
  readonly id: number
}

export type Request = QueryRequest | CloseRequest

/** An error's message, name, stack and every primitive field (PostgreSQL's code, detail, constraint, …). */
export type ErrorFields = Readonly<Record<string, string | number | boolean | bigint | null | undefined>>

/** Every reply also says whether a transaction is open, and this thread's CPU seconds so far (where Linux says). */
export type Reply = {
  readonly id: number
  readonly inTransaction: boolean
  readonly cpuSeconds: number | undefined
} & ({ readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: ErrorFields })

export type Started =
  | { readonly type: "ready"; readonly cpuSeconds: number | undefined }
  | { readonly type: "failed"; readonly error: ErrorFields }

const isPrimitive = (value: unknown) =>
  value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")

export const errorFields = (error: unknown): ErrorFields => {
  if (!(error instanceof Error)) return { message: String(error) }
  const fields: Record<string, string | number | boolean | bigint | null | undefined> = {
    name: error.name,
    message: error.message,
    stack: error.stack
  }
  for (const [key, value] of Object.entries(error))
    if (isPrimitive(value)) fields[key] = value as string | number | boolean | bigint | null | undefined
  return fields
}

const inTransaction = (db: PGlite | undefined) => {
  try {
    return db?.isInTransaction() ?? false
  } catch {
    return false
  }
}

if (parentPort !== null) {
  const port = parentPort
  const { dataDir } = workerData as { readonly dataDir: string }
  let db: PGlite | undefined
  const post = (message: Reply | Started) => port.postMessage(message)
  const answer = async (request: Request): Promise<Reply> => {
    try {
      if (request.type === "close") {
        await db?.close()
        return { id: request.id, ok: true, result: undefined, inTransaction: false, cpuSeconds: threadCpuSeconds() }
      }
      const result = await db!.query(request.sql, request.params as Array<unknown>, { rowMode: request.rowMode })
      const { blob: _, ...whole } = result
      return {
        id: request.id,
        ok: true,
        result: request.raw ? whole : result.rows,
        inTransaction: inTransaction(db),
        cpuSeconds: threadCpuSeconds()
      }
    } catch (error) {
      return {
        id: request.id,
        ok: false,
        error: errorFields(error),
        inTransaction: inTransaction(db),
        cpuSeconds: threadCpuSeconds()
      }
    }
  }
  try {
    db = await openPglite(dataDir)
    // PGlite queues concurrent queries itself; a request arriving mid-statement waits its turn there.
    port.on("message", (request: Request) => {
      void answer(request).then(post)
    })
    post({ type: "ready", cpuSeconds: threadCpuSeconds() })
  } catch (error) {
    post({ type: "failed", error: errorFields(error) })
  }
}
