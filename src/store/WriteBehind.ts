/**
 * Write-behind buffer between live sessions and the database. Rows are queued in memory and written in batches
 * (at most every `flushIntervalMs`, sooner when `maxBatchRows` are waiting or someone awaits a durable write),
 * one transaction per batch, in the order they were queued.
 *
 * When the database is unreachable, the batch is retried with capped exponential backoff and new rows keep
 * queueing; bulk rows (score events, windows) beyond `maxBufferedRows` are shed oldest first and counted,
 * durable rows (answers, lifecycle, snapshots) are never shed. When the database answers but refuses a batch,
 * it is retried interview by interview: rows of an erased interview are rejected, and rows still refused after
 * `maxPoisonAttempts` are dropped and logged, so one bad row cannot stall every interview.
 *
 * On scope close it flushes everything (bounded by `shutdownTimeoutMs`).
 */
import { Context, Deferred, Effect, Exit, Fiber, Layer, Metric, Schema, type Scope } from "effect"
import { type Sampled, sampled } from "../Metrics.ts"
import { type SessionWrite, SessionWriter, type SessionWriterShape } from "./SessionWrites.ts"

export interface WriteBehindSettings {
  readonly flushIntervalMs: number
  readonly maxBatchRows: number
  readonly maxBufferedRows: number
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  readonly maxPoisonAttempts: number
  readonly shutdownTimeoutMs: number
}

export const defaultWriteBehindSettings: WriteBehindSettings = {
  flushIntervalMs: 1000,
  maxBatchRows: 500,
  maxBufferedRows: 50_000,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
  maxPoisonAttempts: 3,
  shutdownTimeoutMs: 20_000
}

/** A durable write that will never be committed (its interview was erased, or the database refuses it). */
export class WriteRejected extends Schema.TaggedError<WriteRejected>()("WriteRejected", {
  interviewId: Schema.String,
  message: Schema.String
}) {}

export interface WriteBehindStats {
  readonly bufferedRows: number
  readonly writtenRows: number
  readonly shedRows: number
  readonly rejectedRows: number
  readonly failedFlushes: number
  readonly outage: boolean
}

export interface WriteBehindShape {
  /** Queues bulk rows of one interview and returns at once. */
  readonly write: (interviewId: string, rows: ReadonlyArray<SessionWrite>) => void
  /**
   * Queues rows of one interview at once, in order with every other row queued so far, and returns an effect
   * that waits until they are committed.
   */
  readonly submitDurable: (interviewId: string, rows: ReadonlyArray<SessionWrite>) => Effect.Effect<void, WriteRejected>
  /** Waits until everything queued before the call is committed (or rejected). */
  readonly flush: Effect.Effect<void>
  /**
   * Forgets every row of the interview not yet written (waiting commits fail with `WriteRejected`) and waits for
   * a batch being written to end, so that nothing of the interview is written after it returns (erasure).
   */
  readonly discard: (interviewId: string) => Effect.Effect<void>
  readonly stats: () => WriteBehindStats
}

interface Entry {
  readonly interviewId: string
  readonly rows: ReadonlyArray<SessionWrite>
  readonly done: Deferred.Deferred<void, WriteRejected> | undefined
  attempts: number
}

export const make = (
  writer: SessionWriterShape,
  settings: WriteBehindSettings = defaultWriteBehindSettings
): Effect.Effect<WriteBehindShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const queue: Array<Entry> = []
    let queuedRows = 0
    let durableQueued = 0
    let oldestAt = 0
    let closing = false
    let outage = false
    const counts = { written: 0, shed: 0, rejected: 0, failedFlushes: 0 }
    let wake: (() => void) | undefined
    /** Completes when the batch being written now is done. */
    let writing: Deferred.Deferred<void> | undefined

    const signal = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const waitForSignal = Effect.callback<void>((resume) => {
      wake = () => resume(Effect.void)
      return Effect.sync(() => {
        wake = undefined
      })
    })

    const settle = (entry: Entry, error?: WriteRejected) => {
      if (entry.done !== undefined)
        Deferred.doneUnsafe(entry.done, error === undefined ? Effect.void : Effect.fail(error))
    }

    const enqueue = (entry: Entry) => {
      const first = queue.length === 0
      if (first) oldestAt = Date.now()
      queue.push(entry)
      queuedRows += entry.rows.length
      if (entry.done !== undefined) durableQueued++
      else if (queuedRows > settings.maxBufferedRows) shed()
      // The loop only needs waking when the next flush falls due sooner: bulk rows behind others wait for the
      // flush already timed (waking it for each would restart its timer once per write).
      if (first || entry.done !== undefined || queuedRows >= settings.maxBatchRows) signal()
    }

    /** Drops the oldest bulk entries until the buffer is within bounds. */
    const shed = () => {
      for (let i = 0; i < queue.length && queuedRows > settings.maxBufferedRows; ) {
        const e = queue[i]!
        if (e.done !== undefined) {
          i++
          continue
        }
        queue.splice(i, 1)
        queuedRows -= e.rows.length
        counts.shed += e.rows.length
      }
    }

    const take = (): Array<Entry> => {
      const batch: Array<Entry> = []
      let rows = 0
      while (queue.length > 0 && (batch.length === 0 || rows + queue[0]!.rows.length <= settings.maxBatchRows)) {
        const e = queue.shift()!
        rows += e.rows.length
        queuedRows -= e.rows.length
        if (e.done !== undefined) durableQueued--
        batch.push(e)
      }
      oldestAt = Date.now()
      return batch
    }

    const requeueFront = (entries: ReadonlyArray<Entry>) => {
      queue.unshift(...entries)
      for (const e of entries) {
        queuedRows += e.rows.length
        if (e.done !== undefined) durableQueued++
      }
    }

    const rowsOf = (entries: ReadonlyArray<Entry>) => entries.flatMap((e) => e.rows)

    const backoff = (attempt: number) => {
      const base = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(attempt, 16))
      return Math.round(base * (0.8 + Math.random() * 0.4))
    }

    /** The database answers but refused the batch: write it interview by interview to find the refused rows. */
    const isolate = (batch: ReadonlyArray<Entry>) =>
      Effect.gen(function* () {
        const groups = new Map<string, Array<Entry>>()
        for (const e of batch) {
          const g = groups.get(e.interviewId)
          if (g === undefined) groups.set(e.interviewId, [e])
          else g.push(e)
        }
        const pending = [...groups.values()]
        while (pending.length > 0) {
          const group = pending.shift()!
          const exit = yield* Effect.exit(writer.write(rowsOf(group)))
          if (Exit.isSuccess(exit)) {
            counts.written += rowsOf(group).length
            for (const e of group) settle(e)
            continue
          }
          const exists = yield* Effect.exit(writer.interviewExists(group[0]!.interviewId))
          if (Exit.isFailure(exists)) {
            // The database went away meanwhile: everything not yet written goes back, in order.
            requeueFront([...group, ...pending.flat()])
            return
          }
          const interviewId = group[0]!.interviewId
          if (!exists.value) {
            counts.rejected += rowsOf(group).length
            for (const e of group) settle(e, new WriteRejected({ interviewId, message: "the interview was erased" }))
            continue
          }
          const retry: Array<Entry> = []
          for (const e of group) {
            e.attempts++
            if (e.attempts < settings.maxPoisonAttempts) retry.push(e)
            else {
              counts.rejected += e.rows.length
              settle(e, new WriteRejected({ interviewId, message: "the database refused these rows" }))
            }
          }
          if (retry.length < group.length) {
            yield* Effect.logError(
              `write-behind: dropped rows of interview ${interviewId} the database refuses`,
              exit.cause
            )
          }
          requeueFront(retry)
        }
      })

    const commit = (batch: ReadonlyArray<Entry>) =>
      Effect.gen(function* () {
        const rows = rowsOf(batch)
        for (let attempt = 0; ; attempt++) {
          const exit = rows.length === 0 ? Exit.void : yield* Effect.exit(writer.write(rows))
          if (Exit.isSuccess(exit)) {
            outage = false
            counts.written += rows.length
            for (const e of batch) settle(e)
            return
          }
          counts.failedFlushes++
          const reachable = yield* Effect.exit(writer.ping)
          if (Exit.isSuccess(reachable)) {
            outage = false
            return yield* isolate(batch)
          }
          if (!outage) yield* Effect.logWarning("write-behind: database unreachable; buffering and retrying")
          outage = true
          yield* Effect.sleep(backoff(attempt))
        }
      })

    const loop = Effect.gen(function* () {
      while (true) {
        if (queue.length === 0) {
          if (closing) return
          yield* waitForSignal
          continue
        }
        const due = oldestAt + settings.flushIntervalMs - Date.now()
        if (!closing && durableQueued === 0 && queuedRows < settings.maxBatchRows && due > 0) {
          yield* Effect.timeoutOption(waitForSignal, due)
          continue
        }
        const done = Deferred.makeUnsafe<void>()
        writing = done
        yield* commit(take()).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              writing = undefined
              Deferred.doneUnsafe(done, Effect.void)
            })
          )
        )
      }
    })

    const drop = (interviewId: string) => {
      for (let i = 0; i < queue.length; ) {
        const e = queue[i]!
        if (e.interviewId !== interviewId) {
          i++
          continue
        }
        queue.splice(i, 1)
        queuedRows -= e.rows.length
        if (e.done !== undefined) durableQueued--
        settle(e, new WriteRejected({ interviewId, message: "the interview was erased" }))
      }
    }

    const fiber = yield* Effect.forkDetach(loop)
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        signal()
        const finished = yield* Fiber.await(fiber).pipe(Effect.timeoutOption(settings.shutdownTimeoutMs))
        if (finished._tag === "None") {
          yield* Fiber.interrupt(fiber)
          const lost = queuedRows
          for (const e of queue.splice(0))
            settle(e, new WriteRejected({ interviewId: e.interviewId, message: "shutdown" }))
          yield* Effect.logError(`write-behind: ${lost} rows not written before shutdown (database unreachable)`)
        }
      })
    )

    return {
      write: (interviewId, rows) => {
        if (rows.length > 0) enqueue({ interviewId, rows, done: undefined, attempts: 0 })
      },
      submitDurable: (interviewId, rows) => {
        const done = Deferred.makeUnsafe<void, WriteRejected>()
        enqueue({ interviewId, rows, done, attempts: 0 })
        return Deferred.await(done)
      },
      flush: Effect.suspend(() => {
        const done = Deferred.makeUnsafe<void, WriteRejected>()
        enqueue({ interviewId: "", rows: [], done, attempts: 0 })
        return Deferred.await(done).pipe(Effect.ignore)
      }),
      discard: (interviewId) =>
        Effect.suspend(() => {
          drop(interviewId)
          const current = writing
          // A batch that failed goes back to the queue: forget the interview's rows in it too.
          return current === undefined
            ? Effect.void
            : Effect.andThen(
                Deferred.await(current),
                Effect.sync(() => drop(interviewId))
              )
        }),
      stats: () => ({
        bufferedRows: queuedRows,
        writtenRows: counts.written,
        shedRows: counts.shed,
        rejectedRows: counts.rejected,
        failedFlushes: counts.failedFlushes,
        outage
      })
    }
  })

const writeBehindSeries: ReadonlyArray<readonly [Sampled, (s: WriteBehindStats) => number]> = [
  [
    Metric.gauge("candor_write_behind_buffered_rows", { description: "Session rows waiting to be written." }),
    (s) => s.bufferedRows
  ],
  [
    Metric.counter("candor_write_behind_written_rows_total", {
      description: "Session rows committed.",
      incremental: true
    }),
    (s) => s.writtenRows
  ],
  [
    Metric.counter("candor_write_behind_shed_rows_total", {
      description: "Bulk rows dropped because the buffer was full.",
      incremental: true
    }),
    (s) => s.shedRows
  ],
  [
    Metric.counter("candor_write_behind_rejected_rows_total", {
      description: "Rows the database refused (erased interview, bad row).",
      incremental: true
    }),
    (s) => s.rejectedRows
  ],
  [
    Metric.counter("candor_write_behind_failed_flushes_total", {
      description: "Batch writes that failed and were retried.",
      incremental: true
    }),
    (s) => s.failedFlushes
  ],
  [
    Metric.gauge("candor_database_outage", {
      description: "Whether the write-behind buffer currently cannot reach the database."
    }),
    (s) => (s.outage ? 1 : 0)
  ]
]

/** Session rows written behind, to the `SessionWriter`; its counters are on `/metrics`. */
export class WriteBehind extends Context.Service<WriteBehind, WriteBehindShape>()("candor/WriteBehind") {
  static readonly layer = (settings: Partial<WriteBehindSettings> = {}) =>
    Layer.effect(
      WriteBehind,
      Effect.gen(function* () {
        const writer = yield* SessionWriter
        const service = yield* make(writer, { ...defaultWriteBehindSettings, ...settings })
        yield* sampled(writeBehindSeries.map(([metric, read]) => [metric, () => read(service.stats())] as const))
        return service
      })
    )
}
