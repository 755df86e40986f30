/**
 * Inference workers that fail for real: one that exits while holding a batch of frames from several sessions, and
 * one that hangs (its thread blocked for good) until the pool's task timeout stops it. Every frame gets an outcome,
 * the worker is replaced, and later frames of every session are analysed. The faults are test hooks of the real
 * worker, switched on by a pool option that only test code sets (sets of session keys), never by anything a client
 * sends.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Exit } from "effect"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { type AnalyzeError, TaskTimedOut, WorkerCrashed } from "../../src/inference/InferenceErrors.ts"
import {
  type FrameInput,
  InferencePool,
  type InferencePoolShape,
  layer as poolLayer
} from "../../src/inference/InferencePool.ts"
import { ensureModels } from "../../src/inference/ModelBuilder.ts"
import { singleFaceJpeg } from "./fixtures.ts"

await ensureModels()
const face = await singleFaceJpeg()

const CRASH = "session-that-crashes-its-worker"
const HANG = "session-that-hangs-its-worker"
const TIMEOUT_MS = 1_500

let seq = 0
const frame = (sessionKey: string): FrameInput => ({
  sessionKey,
  seq: seq++,
  capturedAt: Date.now(),
  image: face,
  affectEnabled: true
})

type Outcome = Exit.Exit<FrameAnalysis, AnalyzeError>
const describeOutcome = (exit: Outcome): string => {
  if (Exit.isSuccess(exit)) return "analysis"
  const error = Exit.findErrorOption(exit)
  return error._tag === "Some" ? error.value._tag : "defect"
}

/** Submits `frame` through the pool's callback API, at once; the Deferred completes with its outcome. */
const submitted = (submit: NonNullable<InferencePoolShape["submit"]>, input: FrameInput) => {
  const outcome = Deferred.makeUnsafe<Outcome>()
  submit(input, (exit) => Deferred.doneUnsafe(outcome, Effect.succeed(exit)))
  return outcome
}

/**
 * One frame of session `a` takes the only worker; then frames of `b`, the faulty session, `c` and `d` queue behind
 * it and leave together as the next batch. Resolves with every frame's outcome and when each batch settled. The
 * frames are submitted synchronously, so the four are queued before the first frame's result can arrive (with a
 * fiber per frame, a loaded machine once ran the first frame's analysis before the fourth frame reached the queue).
 */
const faultyBatch = (faulty: string) =>
  Effect.gen(function* () {
    const pool = yield* InferencePool
    const submit = pool.submit
    if (submit === undefined) throw new Error("the pool offers no callback API")
    const first = submitted(submit, frame("a"))
    const rest = ["b", faulty, "c", "d"].map((key) => submitted(submit, frame(key)))
    const queued = yield* pool.metrics
    expect([queued.inFlightFrames, queued.queueDepth]).toEqual([1, 4])
    const a = yield* Deferred.await(first)
    const sentAt = Date.now()
    const batch = yield* Effect.forEach(rest, Deferred.await)
    return { a, batch, batchMs: Date.now() - sentAt }
  })

/** A frame of each session after the fault: all analysed by the replacement worker. */
const later = Effect.gen(function* () {
  const pool = yield* InferencePool
  const started = Date.now()
  // The first frame after the fault waits for the replacement worker to start (models loading).
  const first = yield* Effect.exit(pool.analyze(frame("b")))
  const waited = Date.now() - started
  const others = yield* Effect.all(
    ["a", "c", "d"].map((key) => Effect.exit(pool.analyze(frame(key)))),
    { concurrency: "unbounded" }
  )
  return { outcomes: [first, ...others].map(describeOutcome), waited }
})

// One worker: a fault takes the whole pool down until the replacement serves, so "later frames succeed" proves the
// worker was replaced.
layer(
  poolLayer({
    workers: 1,
    maxBatch: 4,
    maxQueue: 16,
    maxDelayMs: 0,
    taskTimeoutMs: TIMEOUT_MS,
    faultsForTests: { crash: new Set([CRASH]), hang: new Set([HANG]) }
  }),
  { timeout: "120 seconds" }
)("InferencePool with faulty workers", (it) => {
  it.effect("a worker that exits mid-batch: every frame of every session gets WorkerCrashed, then all goes on", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      const before = yield* pool.metrics
      const { a, batch } = yield* faultyBatch(CRASH)
      expect(describeOutcome(a)).toBe("analysis")
      expect(batch.map(describeOutcome)).toEqual(["WorkerCrashed", "WorkerCrashed", "WorkerCrashed", "WorkerCrashed"])
      for (const exit of batch) {
        const error = Exit.findErrorOption(exit)
        expect(error._tag === "Some" && error.value).toBeInstanceOf(WorkerCrashed)
        expect(error._tag === "Some" && error.value.retryable).toBe(true)
      }
      const after = yield* later
      expect(after.outcomes).toEqual(["analysis", "analysis", "analysis", "analysis"])
      const metrics = yield* pool.metrics
      expect(metrics.workerCrashes - before.workerCrashes).toBe(1)
      expect(metrics.frames.crashed - before.frames.crashed).toBe(4)
      expect(metrics.workerTimeouts - before.workerTimeouts).toBe(0)
      expect([metrics.queueDepth, metrics.inFlightFrames]).toEqual([0, 0])
      console.info(`crash: replacement worker served its first frame ${after.waited} ms after the crash`)
    })
  )

  it.effect(
    "a worker that hangs: the task timeout stops it, every frame gets TaskTimedOut, the replacement serves",
    () =>
      Effect.gen(function* () {
        const pool = yield* InferencePool
        const before = yield* pool.metrics
        const { a, batch, batchMs } = yield* faultyBatch(HANG)
        expect(describeOutcome(a)).toBe("analysis")
        expect(batch.map(describeOutcome)).toEqual(["TaskTimedOut", "TaskTimedOut", "TaskTimedOut", "TaskTimedOut"])
        for (const exit of batch) {
          const error = Exit.findErrorOption(exit)
          expect(error._tag === "Some" && error.value).toBeInstanceOf(TaskTimedOut)
          expect(error._tag === "Some" && error.value.retryable).toBe(false)
          expect(error._tag === "Some" && (error.value as TaskTimedOut).timeoutMs).toBe(TIMEOUT_MS)
        }
        // Given up after the timeout, not before, and not much later.
        expect(batchMs).toBeGreaterThanOrEqual(TIMEOUT_MS)
        expect(batchMs).toBeLessThan(TIMEOUT_MS + 5_000)
        const after = yield* later
        // Waiting for the replacement to start does not count against the timeout.
        expect(after.outcomes).toEqual(["analysis", "analysis", "analysis", "analysis"])
        const metrics = yield* pool.metrics
        expect(metrics.workerTimeouts - before.workerTimeouts).toBe(1)
        expect(metrics.frames.timedOut - before.frames.timedOut).toBe(4)
        expect(metrics.workerCrashes - before.workerCrashes).toBe(0)
        expect([metrics.queueDepth, metrics.inFlightFrames]).toEqual([0, 0])
        console.info(
          `hang: batch failed after ${batchMs} ms (timeout ${TIMEOUT_MS} ms); replacement served ${after.waited} ms later`
        )
      })
  )

  it.effect("a fault again and again: each time every frame gets an outcome and the pool keeps serving", () =>
    Effect.gen(function* () {
      const pool = yield* InferencePool
      for (const faulty of [CRASH, HANG, CRASH]) {
        const { a, batch } = yield* faultyBatch(faulty)
        expect(describeOutcome(a)).toBe("analysis")
        expect(new Set(batch.map(describeOutcome))).toEqual(
          new Set([faulty === CRASH ? "WorkerCrashed" : "TaskTimedOut"])
        )
      }
      expect((yield* later).outcomes).toEqual(["analysis", "analysis", "analysis", "analysis"])
      expect((yield* pool.metrics).inFlightFrames).toBe(0)
    })
  )
})

describe("worker faults for tests", () => {
  it("cannot come from configuration: the pool refuses to start unless they are Sets (only code makes those)", async () => {
    const { make } = await import("../../src/inference/InferencePool.ts")
    const fromJson = JSON.parse('{"faultsForTests":{"crash":["a"],"hang":["b"]}}')
    const exit = await Effect.runPromiseExit(Effect.scoped(make({ workers: 1, ...fromJson })))
    const error = Exit.findErrorOption(exit)
    expect(error._tag === "Some" && error.value._tag).toBe("InferenceFailed")
  })
})

describe("task timeout default", () => {
  it("is a few seconds", async () => {
    const { defaultOptions } = await import("../../src/inference/InferencePool.ts")
    expect(defaultOptions().taskTimeoutMs).toBeGreaterThanOrEqual(2_000)
    expect(defaultOptions().taskTimeoutMs).toBeLessThanOrEqual(10_000)
  })
})

describe("InferencePool stopping a hung worker", () => {
  it("does not abort the process (its ONNX sessions open), does not count the wait for its replacement, and closes cleanly", () => {
    const script = new URL("./support/closeAfterHang.ts", import.meta.url).pathname
    const tsx = new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url).pathname
    const run = spawnSync(process.execPath, [tsx, script], { encoding: "utf8", timeout: 120_000 })
    expect(run.stderr).not.toContain("terminate called")
    expect(run.status).toBe(0)
    console.info(run.stderr.trim())
    expect(JSON.parse(run.stdout.trim().split("\n").pop()!)).toEqual({
      // The hung frame leaves alone (the worker was idle) and times out; the frame queued behind it waits for
      // the replacement, which analyses it.
      first: ["TaskTimedOut", "analysis"],
      after: "analysis",
      closing: "TaskTimedOut"
    })
  })
})
