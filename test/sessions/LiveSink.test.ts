import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope, Stream } from "effect"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { liveChannel, liveKey, make } from "../../src/pipeline/LiveSink.ts"
import { type LiveBatch, LiveStoreError, makeMemory } from "../../src/store/LiveStore.ts"

const started = (seq: number): ScoreEvent => ({
  _tag: "questionStarted",
  interviewId: "i1",
  seq,
  at: seq,
  questionId: "q",
  index: seq
})

describe("LiveSink", () => {
  it.live("keeps the live hash current and publishes events; pauses while the store is unreachable", () =>
    Effect.gen(function* () {
      const memory = makeMemory()
      let down = false
      const fail = (operation: string) => Effect.fail(new LiveStoreError({ operation, message: "down" }))
      const store = {
        ...memory,
        writeBatch: (b: LiveBatch) => (down ? fail("pipeline") : memory.writeBatch(b))
      }
      const received: Array<string> = []
      yield* Effect.forkScoped(
        Stream.runForEach(memory.subscribe(liveChannel("i1")), (m) => Effect.sync(() => received.push(m)))
      )
      const sink = yield* make(store, { ttlSeconds: 60, maxQueuedEvents: 100, pauseMs: 100, lingerMs: 0 })
      yield* Effect.sleep(20)
      sink.publish("i1", [started(1)])
      yield* Effect.sleep(50)
      expect(received.length).toBe(1)
      down = true
      sink.publish("i1", [started(2)])
      yield* Effect.sleep(50)
      sink.publish("i1", [started(3)])
      yield* Effect.sleep(300)
      expect(received.length).toBe(1)
      expect(sink.stats().dropped).toBeGreaterThanOrEqual(2)
      down = false
      yield* Effect.sleep(250)
      sink.publish("i1", [started(4)])
      yield* Effect.sleep(100)
      expect(received.map((m) => JSON.parse(m).seq)).toEqual([1, 4])
      expect(yield* memory.hgetall(liveKey("i1"))).toMatchObject({ questionIndex: "4", eventSeq: "4" })
    })
  )

  it.live("gathers what sessions publish for a moment and sends it as one batch, in order", () =>
    Effect.gen(function* () {
      const memory = makeMemory()
      const batches: Array<LiveBatch> = []
      const store = {
        ...memory,
        writeBatch: (b: LiveBatch) =>
          Effect.andThen(
            Effect.sync(() => batches.push(b)),
            memory.writeBatch(b)
          )
      }
      const received: Array<number> = []
      yield* Effect.forkScoped(
        Stream.runForEach(memory.subscribe(liveChannel("i1")), (m) =>
          Effect.sync(() => received.push(JSON.parse(m).seq))
        )
      )
      const sink = yield* make(store, { ttlSeconds: 60, maxQueuedEvents: 100, pauseMs: 100, lingerMs: 80 })
      yield* Effect.sleep(20)
      // Three frames' events 10 ms apart, and another interview's, all within the linger.
      for (const seq of [1, 2, 3]) {
        sink.publish("i1", [started(seq)])
        yield* Effect.sleep(10)
      }
      sink.publish("i2", [started(1)])
      yield* Effect.sleep(200)
      expect(batches.length).toBe(1)
      expect(batches[0]!.messages.map((m) => [m.channel, JSON.parse(m.message).seq])).toEqual([
        [liveChannel("i1"), 1],
        [liveChannel("i1"), 2],
        [liveChannel("i1"), 3],
        [liveChannel("i2"), 1]
      ])
      expect(batches[0]!.hashes.map((h) => h.key).sort()).toEqual([liveKey("i1"), liveKey("i2")])
      expect(received).toEqual([1, 2, 3])
      expect(sink.stats().published).toBe(4)
      expect(yield* memory.hgetall(liveKey("i1"))).toMatchObject({ eventSeq: "3" })
    })
  )

  it.live("sends an announcement without the linger, and on shutdown what is still gathering", () =>
    Effect.gen(function* () {
      const memory = makeMemory()
      const received: Array<number> = []
      yield* Effect.forkScoped(
        Stream.runForEach(memory.subscribe(liveChannel("i1")), (m) =>
          Effect.sync(() => received.push(JSON.parse(m).seq))
        )
      )
      const settings = { ttlSeconds: 60, maxQueuedEvents: 100, pauseMs: 100, lingerMs: 5_000 }
      const sinkScope = yield* Scope.make()
      const sink = yield* Scope.provide(make(memory, settings), sinkScope)
      yield* Effect.sleep(20)
      // An event lingers...
      sink.publish("i1", [started(1)])
      yield* Effect.sleep(100)
      expect(received).toEqual([])
      // ...until a session announces where it stands: both go out at once.
      sink.setFields("i2", { status: "in_progress", questionId: "q2" })
      yield* Effect.sleep(100)
      expect(yield* memory.hgetall(liveKey("i2"))).toEqual({ status: "in_progress", questionId: "q2" })
      expect(received).toEqual([1])
      // An event still gathering when the engine stops is sent as the sink closes.
      sink.publish("i1", [started(2)])
      yield* Scope.close(sinkScope, Exit.void)
      yield* Effect.sleep(20)
      expect(received).toEqual([1, 2])
      expect(yield* memory.hgetall(liveKey("i1"))).toMatchObject({ eventSeq: "2" })
    })
  )
})
