import { mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { FrameRejected, InferenceFailed, PoolSaturated, WorkerCrashed } from "../../src/inference/InferenceErrors.ts"
import {
  type FrameInput,
  InferencePool,
  layerWithModels,
  layer as poolLayer,
  make
} from "../../src/inference/InferencePool.ts"
import { ensureModels } from "../../src/inference/ModelBuilder.ts"
import { hugeHeaderJpeg, sample1, singleFaceJpeg } from "./fixtures.ts"

await ensureModels()
const face = await singleFaceJpeg()
const photo = await readFile(sample1)

let seq = 0
const frame = (image: Uint8Array, fields: Partial<FrameInput> = {}): FrameInput => ({
  seq: seq++,
  capturedAt: Date.now(),
  image,
  affectEnabled: true,
  ...fields
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  const error = Exit.findErrorOption(exit)
  return error._tag === "Some" ? error.value : undefined
}

const CRASH_KEY = "crash-this-worker"

// One worker keeps the machine free for other tests and makes queueing deterministic: while it holds a batch,
// every new frame waits in the pool's queue.
layer(
  poolLayer({
    workers: 1,
    maxQueue: 4,
    maxDelayMs: 0,
    detectEvery: 10,
    faultsForTests: { crash: new Set([CRASH_KEY]), hang: new Set() }
  }),
  { timeout: "120 seconds" }
)("InferencePool", (it) => {
  it.effect("analyses frames in TypeScript workers started through the tsx entry", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      const analysis = yield* pool.analyze(frame(photo, { seq: 42, capturedAt: 7 }))
      expect([analysis.seq, analysis.capturedAt, analysis.faces.length]).toEqual([42, 7, 3])
      const laughing = [...analysis.faces].sort((a, b) => b.box[0] - a.box[0])[0]!
      expect(laughing.emotion!.happy).toBeGreaterThanOrEqual(0.9)
    })
  )

  it.effect("tracks faces per session key and runs the detector only when due", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      const a1 = yield* pool.analyze(frame(face, { sessionKey: "a" }))
      const a2 = yield* pool.analyze(frame(face, { sessionKey: "a" }))
      const b1 = yield* pool.analyze(frame(face, { sessionKey: "b" }))
      const still = yield* pool.analyze(frame(face))
      const still2 = yield* pool.analyze(frame(face))
      expect([a1.detectorRan, a2.detectorRan, b1.detectorRan, still.detectorRan, still2.detectorRan]).toEqual([
        true,
        false,
        true,
        true,
        true
      ])
      expect(a2.faces).toHaveLength(1)
      expect((yield* pool.metrics).trackedSessions).toBeGreaterThanOrEqual(2)
      yield* pool.forget("a")
      expect((yield* pool.analyze(frame(face, { sessionKey: "a" }))).detectorRan).toBe(true)
    })
  )

  it.effect("fails bad frames with typed errors and keeps serving", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      const exits = yield* Effect.all(
        [
          pool.analyze(frame(new TextEncoder().encode("not an image"))),
          pool.analyze(frame(face.subarray(0, face.length >> 1))),
          pool.analyze(frame(yield* Effect.promise(() => hugeHeaderJpeg()))),
          pool.analyze(frame(new Uint8Array(0)))
        ].map((e) => Effect.exit(e)),
        { concurrency: "unbounded" }
      )
      const reasons = exits.map((exit) => {
        const error = failureOf(exit)
        return error instanceof FrameRejected ? error.reason : String(error)
      })
      expect(reasons).toEqual(["Undecodable", "Undecodable", "TooLarge", "Empty"])
      expect((yield* pool.analyze(frame(face))).faces).toHaveLength(1)
    })
  )

  it.effect("fails fast with PoolSaturated when the queue is full", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      const exits = yield* Effect.all(
        Array.from({ length: 10 }, () => Effect.exit(pool.analyze(frame(face)))),
        { concurrency: "unbounded" }
      )
      const saturated = exits.filter((exit) => failureOf(exit) instanceof PoolSaturated)
      // one frame goes straight to the worker, four wait, the rest are refused
      expect(exits.filter(Exit.isSuccess)).toHaveLength(5)
      expect(saturated).toHaveLength(5)
      expect((yield* pool.metrics).frames.saturated).toBeGreaterThanOrEqual(5)
    })
  )

  it.effect("takes an interrupted caller's frame out of the queue", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      const before = yield* pool.metrics
      const busy = yield* Effect.forkChild(pool.analyze(frame(face)))
      const waiting = yield* Effect.forkChild(pool.analyze(frame(face)))
      yield* Effect.yieldNow
      expect((yield* pool.metrics).queueDepth).toBe(1)
      yield* Fiber.interrupt(waiting)
      const after = yield* pool.metrics
      expect(after.queueDepth).toBe(0)
      expect(after.frames.cancelled).toBe(before.frames.cancelled + 1)
      expect((yield* Fiber.join(busy)).faces).toHaveLength(1)
      expect((yield* pool.metrics).frames.analyzed).toBe(before.frames.analyzed + 1)
    })
  )

  it.effect("fails the frames of a crashed worker with WorkerCrashed and replaces the worker", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      const error = yield* Effect.flip(pool.analyze(frame(face, { sessionKey: CRASH_KEY })))
      expect(error).toBeInstanceOf(WorkerCrashed)
      expect(error.retryable).toBe(true)
      expect((yield* pool.analyze(frame(face))).faces).toHaveLength(1)
      const metrics = yield* pool.metrics
      expect(metrics.frames.crashed).toBe(1)
      expect(metrics.workerCrashes).toBe(1)
      expect(metrics.workers).toBe(1)
      expect(metrics.batchSize.count).toBeGreaterThan(0)
      expect(metrics.stageMs.mesh.count).toBe(metrics.frames.analyzed)
    })
  )
})

describe("InferencePool start-up", () => {
  it.effect("fails with InferenceFailed when the models cannot be loaded", () =>
    Effect.gen(function* () {
      const empty = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "candor-no-models-")))
      const error = yield* Effect.flip(Effect.scoped(make({ modelsDir: empty, workers: 1 })))
      expect(error).toBeInstanceOf(InferenceFailed)
      expect(error.message).toMatch(/models did not load/)
    })
  )

  it.effect("can verify the models before starting", () =>
    Effect.gen(function* () {
      const faces = yield* Effect.gen(function* () {
        const pool = yield* InferencePool
        return (yield* pool.analyze(frame(face))).faces
      }).pipe(Effect.provide(layerWithModels({ workers: 1 })))
      expect(faces).toHaveLength(1)
    })
  )
})
