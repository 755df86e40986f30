/**
 * Background workers over a durable queue in the database (answer scoring, webhook deliveries), idle as one:
 *
 * - An idle worker waits for a wake-up, or for its turn to look for due rows: one look per `pollIntervalMs` for
 *   all of them together, not one per worker, since every look is a claim statement against the shared database.
 * - A wake-up (`wake`: this process just stored work) is taken by one idle worker, not all of them.
 * - A worker that claimed something passes a wake-up on, so the next idle worker looks too while rows may be left.
 *
 * So a stored row costs one claim that finds it and, at the end of a burst, one that finds nothing.
 */
import { Cause, Effect, Queue, type Scope } from "effect"

export interface QueueWorkersOptions {
  readonly concurrency: number
  readonly pollIntervalMs: number
  /** Claims at most one row and handles it; how many it claimed. */
  readonly runOnce: Effect.Effect<number, unknown>
  /** What a failed claim is logged as (the worker then carries on). */
  readonly name: string
}

/** Starts the workers in the current scope; the effect returned wakes one idle worker. */
export const startQueueWorkers = (
  options: QueueWorkersOptions
): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.gen(function* () {
    // Capacity 1: wake-ups that arrive while one is pending are the same news.
    const wakes = yield* Queue.dropping<void>(1)
    const wake = Effect.asVoid(Queue.offer(wakes, undefined))
    const turn = options.pollIntervalMs * options.concurrency
    const worker = (index: number) =>
      Effect.gen(function* () {
        // Spread over one turn, so that the looks of idle workers come one per `pollIntervalMs`.
        yield* Effect.sleep(index * options.pollIntervalMs)
        while (true) {
          const n = yield* options.runOnce.pipe(
            Effect.catchCause((cause) =>
              Cause.hasInterruptsOnly(cause)
                ? Effect.failCause(cause)
                : Effect.as(Effect.logError(`${options.name}: claim failed; retrying`, cause), 0)
            )
          )
          if (n > 0) {
            yield* wake
            continue
          }
          yield* Effect.timeoutOption(Queue.take(wakes), turn)
        }
      })
    for (let i = 0; i < options.concurrency; i++) yield* Effect.forkScoped(worker(i))
    return wake
  })
