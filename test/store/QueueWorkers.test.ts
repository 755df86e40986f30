/**
 * Workers over a durable queue, idle as one: every claim they make is a statement against the shared database, so
 * idle workers look once per poll interval between them, and a wake-up sends one of them, not all.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { startQueueWorkers } from "../../src/store/QueueWorkers.ts"

/** A queue of `rows` due rows; every claim is counted, and takes one row when there is one. */
const fakeQueue = () => {
  const q = { rows: 0, claims: 0, found: 0 }
  const runOnce = Effect.sync(() => {
    q.claims++
    if (q.rows === 0) return 0
    q.rows--
    q.found++
    return 1
  })
  return { q, runOnce }
}

describe("startQueueWorkers", () => {
  it.effect("idle, four workers look once per poll interval between them, not four times", () =>
    Effect.gen(function* () {
      const { q, runOnce } = fakeQueue()
      yield* startQueueWorkers({ concurrency: 4, pollIntervalMs: 1000, runOnce, name: "test" })
      yield* TestClock.adjust("20 seconds")
      // t = 0, 1, …, 20 s: one look a second (four workers each looking every second would make 84).
      expect(q.claims).toBeGreaterThanOrEqual(19)
      expect(q.claims).toBeLessThanOrEqual(22)
    }).pipe(Effect.scoped)
  )

  it.effect("a wake-up sends one idle worker, which passes it on while it finds rows", () =>
    Effect.gen(function* () {
      const { q, runOnce } = fakeQueue()
      const wake = yield* startQueueWorkers({ concurrency: 4, pollIntervalMs: 1000, runOnce, name: "test" })
      // Every worker has looked once and waits.
      yield* TestClock.adjust("3500 millis")
      const before = q.claims
      q.rows = 5
      yield* wake
      yield* TestClock.adjust("10 millis")
      expect(q.found).toBe(5)
      // Five claims that found a row and at most two that found nothing (each of four waking workers would add three).
      expect(q.claims - before).toBeGreaterThanOrEqual(6)
      expect(q.claims - before).toBeLessThanOrEqual(7)
    }).pipe(Effect.scoped)
  )

  it.effect("a failed claim is logged and the worker goes on", () =>
    Effect.gen(function* () {
      let calls = 0
      const runOnce = Effect.suspend(() => (++calls === 1 ? Effect.fail("database down") : Effect.succeed(0)))
      yield* startQueueWorkers({ concurrency: 1, pollIntervalMs: 1000, runOnce, name: "test" })
      yield* TestClock.adjust("2500 millis")
      expect(calls).toBe(3)
    }).pipe(Effect.scoped)
  )
})
