import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { Context, Effect, Exit, Layer, Option, type Scope } from "effect"
import { Piscina } from "piscina"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { TrackState } from "./FaceTracker.ts"
import { FrameBatcher } from "./FrameBatcher.ts"
import type { Decoder } from "./ImageOps.ts"
import { lastTurboJpegError, turboJpegAvailable } from "./TurboJpeg.ts"
import {
  type AnalyzeError,
  FrameRejected,
  InferenceFailed,
  PoolSaturated,
  TaskTimedOut,
  WorkerCrashed
} from "./InferenceErrors.ts"
import { type BuildError, build, DEFAULT_MODELS_DIR } from "./ModelBuilder.ts"
import { makeMetrics, Metrics } from "../Metrics.ts"
import { PoolMetrics, type PoolMetricsSnapshot } from "./PoolMetrics.ts"
import { type FrameJob, TaskStarts, type WorkerResult, type WorkerSettings, type WorkerTask } from "./WorkerProtocol.ts"

/** One frame to analyse. */
export interface FrameInput {
  /** Frames with the same key share face tracking (one key per interview); omit for unrelated stills. */
  readonly sessionKey?: string
  readonly seq: number
  /** Capture time in ms since the epoch, passed through to the result. */
  readonly capturedAt: number
  /** Encoded image (JPEG from the browser; PNG and WebP work too). The pool copies it; the caller keeps it. */
  readonly image: Uint8Array
  /** Whether to run the emotion model; false yields `emotion: null` on every face. */
  readonly affectEnabled: boolean
  /** Attach a class-activation heat-map (PNG) of the first face's top emotion. */
  readonly heatmap?: boolean
  /**
   * Attach the heat-map when the first face's strongest non-neutral emotion reaches this (a keyframe in the making,
   * see `KeyframePolicy.expressionBar`); the emotion is then measured on this frame rather than carried.
   */
  readonly heatmapFrom?: number
}

export interface InferencePoolOptions {
  readonly modelsDir: string
  readonly workers: number
  /** Most frames per worker task. */
  readonly maxBatch: number
  /** Longest a frame waits for companions while a worker is idle. */
  readonly maxDelayMs: number
  /** Frames waiting beyond this fail fast with PoolSaturated. */
  readonly maxQueue: number
  /** Run the face detector at least every this many frames of a session (1 = every frame, tracking off). */
  readonly detectEvery: number
  /**
   * Measure a tracked face's emotion at least every this many frames and carry it in between (marked
   * `emotionCarried`); 1 = every frame. The face mesh (eyes, blinks) still runs on every frame.
   */
  readonly emotionEvery: number
  readonly maxFaces: number
  /** Larger images are rejected (FrameRejected TooLarge) before decoding. */
  readonly maxPixels: number
  /** Mean eye aspect ratio below which eyes count as closed. */
  readonly eyesClosedThreshold: number
  /** Images with a longer side are shrunk while decoding. */
  readonly maxSide: number
  /**
   * "turbo" (default): plain baseline JPEGs decoded by libjpeg-turbo on the worker's own thread, anything else by
   * sharp; "sharp": every image through sharp, the reference path (see ImageOps.decodeJpegTurbo).
   */
  readonly decoder: Decoder
  readonly minDetectionScore: number
  /** Face-mesh confidence below which a face is dropped and tracking falls back to the detector. */
  readonly minFaceScore: number
  /** Level face crops along the eye line (better landmarks and emotions on tilted heads). */
  readonly rotate: boolean
  /** Sessions whose tracking state is kept; the least recently used is forgotten first. */
  readonly maxTrackedSessions: number
  /**
   * A worker task (one batch) running longer than this on its worker is given up: the worker is stopped and
   * replaced, and each frame of the batch fails with `TaskTimedOut`. Time spent waiting for a worker (one that is
   * starting, models loading) does not count.
   */
  readonly taskTimeoutMs: number
  /**
   * Test only: worker faults by session key (see `WorkerFaultsForTests`). Only code can pass it: configuration
   * (environment variables, JSON) never yields a `Set`, and the pool refuses to start with anything else here.
   */
  readonly faultsForTests?: WorkerFaultsForTests
}

/**
 * Test only: sessions whose frames make the worker holding them exit (`crash`) or hang for good (`hang`), to test
 * crash recovery and the task timeout. Read each time a batch is sent to a worker, so a test keeps the sets and
 * adds a key once it knows it (a live interview's id), or removes it to let the session's frames through again.
 */
export interface WorkerFaultsForTests {
  readonly crash: ReadonlySet<string>
  readonly hang: ReadonlySet<string>
}

/**
 * Defaults. The batching pair was chosen with bench/pipeline.ts (`--sweep`, 640×480 single-face JPEGs, 2 workers,
 * tracking on) on a 2-core machine shared with other jobs, so judged by CPU time per frame, which that sharing
 * disturbs far less than frames/s: batch 1 ≈ 8.0–8.3 ms, 4 ≈ 8.4–8.6 ms, 8 ≈ 8.7–9.5 ms, 16 ≈ 8.9–9.7 ms.
 * In one process the same frames cost ≈ 8.3 ms at batch 1, 2 and 4 but ≈ 9.6–9.8 ms at 8: ONNX Runtime's cost
 * per item is flat, but eight 192² float crops (3.5 MB) no longer stay in cache. Hand-offs to a worker cost
 * ≈ 0.1–0.4 ms, so batches of up to 4 are kept for overload, where they form by themselves (frames queue while
 * both workers are busy).
 *
 * `maxDelayMs` 10 (was 0): once the models, decode and crops had come down to ≈ 3.5 ms a frame, what a task costs
 * around its frames (the hand-off each way, the task's bookkeeping in the worker, waking an idle thread) was no
 * longer small beside them. Letting a frame wait up to 10 ms for companions while a worker idles made tasks at a
 * fixed 60 candidates 3.5 frames instead of 1.6–1.9 and cost the engine ≈ 0.9× the CPU per frame, main thread and
 * workers alike (bench/RESULTS.md, "Way tried: frames that wait for companions"). The price is latency when the
 * engine is nearly idle: a frame waits up to 10 ms, then for its companions ahead of it in the task (at 10
 * candidates p50 5.8 → 18.2 ms); under load batches form anyway and the delay changes little.
 *
 * `emotionEvery` 5: at 5 fps one emotion reading per face per second, the granularity of the score windows. On the
 * bench clips (12 single-face 640×480 clips × 40 frames, in process, batch 1, clips interleaved across settings)
 * it cut CPU from 12.7 to 10.7 ms per frame (emotion stage 1.83 → 0.37 ms); landmarks, EAR and boxes are
 * unchanged, and the carried top emotion equals a fresh reading on 93 % of frames (every 10: 89 %).
 *
 * `detectEvery` 30 (was 10): a tracked face is followed by its own landmarks whatever the detector does, and a lost
 * one triggers the detector at once, so on those clips faces, boxes and EAR were identical at 1, 10 and 30; the
 * detector's cost fell from ≈ 0.7 to ≈ 0.25 ms per frame (10.7 → 10.3 ms in all). The price: a second person
 * entering the picture is found up to 30 frames (6 s at 5 fps) late instead of 10.
 * Both together through this pool (bench/pipeline.ts, 2 workers, 16 clients, old and new defaults alternated
 * three times on a busy machine): 12.3 → 10.5 ms CPU per frame (pairs: 11.5 → 9.8, 11.2 → 8.4, 14.2 → 13.3).
 */
export const defaultOptions = (): InferencePoolOptions => ({
  modelsDir: DEFAULT_MODELS_DIR,
  workers: availableParallelism(),
  maxBatch: 4,
  maxDelayMs: 10,
  maxQueue: 256,
  detectEvery: 30,
  emotionEvery: 5,
  maxFaces: 10,
  maxPixels: 4096 * 4096,
  eyesClosedThreshold: 0.2,
  maxSide: 1920,
  decoder: "turbo",
  minDetectionScore: 0.5,
  minFaceScore: 0.5,
  rotate: true,
  maxTrackedSessions: 10_000,
  // A batch takes ≈ 10–50 ms, a few hundred on a machine far past saturation: only a stuck worker gets near this.
  taskTimeoutMs: 5_000
})

/** The face-analysis runtime: a Piscina pool of ONNX workers behind a dynamic batcher. */
export interface InferencePoolShape {
  /**
   * Analyses one frame. Concurrent calls from any callers are batched together. Interrupting the caller takes
   * the frame out of the queue if it has not been dispatched yet.
   */
  readonly analyze: (frame: FrameInput) => Effect.Effect<FrameAnalysis, AnalyzeError>
  /**
   * `analyze` without an Effect around it, for callers that take one frame after another on their own fiber (a
   * session actor): `done` is called once with the frame's exit, possibly before `submit` returns (an empty image,
   * a full queue). The returned function takes the frame back as interrupting `analyze` would (`done` is then
   * never called). Optional: a pool without it is driven through `analyze`.
   */
  readonly submit?: (frame: FrameInput, done: (exit: Exit.Exit<FrameAnalysis, AnalyzeError>) => void) => () => void
  /** Drops a session's tracking state (call when an interview ends). */
  readonly forget: (sessionKey: string) => Effect.Effect<void>
  /** The pool's counters, histograms and gauges, as exported on `/metrics` (see `PoolMetrics`). */
  readonly metrics: Effect.Effect<PoolMetricsSnapshot>
}

export class InferencePool extends Context.Service<InferencePool, InferencePoolShape>()("candor/InferencePool") {}

interface Pending {
  readonly frame: FrameInput
  readonly submittedAt: number
  /** Submission order: results of one session may come back out of order, and only the newest may update it. */
  readonly order: number
}

type Outcome = Exit.Exit<FrameAnalysis, AnalyzeError>

const workerEntry = fileURLToPath(new URL("./workerEntry.mjs", import.meta.url))

/**
 * A task's abort signal in the event-emitter form Piscina also takes: one listener, no `EventTarget` (whose
 * listener bookkeeping cost more main-thread time per batch than the rest of the hand-off).
 */
class TaskAbort {
  aborted = false
  reason: unknown
  private listener: (() => void) | undefined

  once(_event: "abort", listener: () => void): void {
    this.listener = listener
  }
  off(_event: "abort", listener: () => void): void {
    if (this.listener === listener) this.listener = undefined
  }
  removeListener(event: "abort", listener: () => void): void {
    this.off(event, listener)
  }
  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = new Error("task timed out")
    const listener = this.listener
    this.listener = undefined
    listener?.()
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * Starts the workers, waits until each has loaded the models, and returns the service; stops them on scope close.
 * Its metrics go to the engine's `Metrics` when the context has one, else to a registry of the pool's own.
 */
export const make = (
  overrides: Partial<InferencePoolOptions> = {}
): Effect.Effect<InferencePoolShape, InferenceFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const options: InferencePoolOptions = { ...defaultOptions(), ...overrides }
    const faults = options.faultsForTests
    if (faults !== undefined && !(faults.crash instanceof Set && faults.hang instanceof Set))
      return yield* Effect.fail(
        new InferenceFailed({ message: "faultsForTests takes two Sets of session keys, passed by test code only" })
      )
    // The fast decoder falls back to sharp frame by frame; say once, here, when it cannot load at all.
    if (options.decoder === "turbo" && !turboJpegAvailable())
      yield* Effect.logWarning(
        `inference: libjpeg-turbo could not be loaded (${lastTurboJpegError()}); every frame is decoded by sharp, at about five times the CPU`
      )
    const taskStarts = TaskStarts.memory()
    const settings: WorkerSettings = {
      modelsDir: options.modelsDir,
      maxPixels: options.maxPixels,
      maxSide: options.maxSide,
      decoder: options.decoder,
      maxFaces: options.maxFaces,
      detectEvery: options.detectEvery,
      emotionEvery: options.emotionEvery,
      eyesClosedThreshold: options.eyesClosedThreshold,
      minDetectionScore: options.minDetectionScore,
      minFaceScore: options.minFaceScore,
      rotate: options.rotate,
      testHooks: faults !== undefined,
      taskStarts
    }
    // Set once the batcher exists: the pool's release waits on in-flight batches; the gauges read the batcher.
    let inFlight = () => 0
    let gauges = () => ({ workers: options.workers, queueDepth: 0, inFlightFrames: 0, trackedSessions: 0 })
    const metrics = yield* Effect.acquireRelease(
      Effect.map(
        Effect.serviceOption(Metrics),
        (engine) => new PoolMetrics(Option.getOrElse(engine, makeMetrics), () => gauges())
      ),
      (metrics) => Effect.sync(() => metrics.close())
    )
    /**
     * Tasks sent to a worker, by ticket. Their timeout runs from when the worker notes it started them, checked by
     * one timer for all (a timer per task cost the main thread more than the check): a hung task is stopped within
     * `sweepMs` of its timeout.
     */
    const running = new Map<number, TaskAbort>()
    const starts = new TaskStarts(taskStarts)
    const sweepMs = Math.max(10, Math.min(250, Math.floor(options.taskTimeoutMs / 8)))
    const sweep = setInterval(() => {
      for (const [ticket, abort] of running) {
        const ran = starts.runningFor(ticket)
        if (ran !== undefined && ran >= options.taskTimeoutMs) abort.abort()
      }
    }, sweepMs)
    // Running tasks keep the process alive (Piscina refs their workers); this timer alone must not.
    sweep.unref()
    yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(sweep)))
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new Piscina<WorkerTask, WorkerResult>({
          filename: workerEntry,
          minThreads: options.workers,
          maxThreads: options.workers,
          idleTimeout: Number.POSITIVE_INFINITY,
          // On close, running tasks finish: terminating a worker inside an ONNX run aborts the whole process.
          closeTimeout: 10_000,
          // Piscina's own run/wait histograms are not read (PoolMetrics measures the pool): two records per task saved.
          recordTiming: false,
          workerData: settings
        })
        // A worker dying between tasks is reported here; Piscina replaces it. Without a listener it would throw.
        pool.on("error", () => {
          metrics.workerCrashed()
        })
        return pool
      }),
      (pool) =>
        Effect.promise(async () => {
          // In-flight batches finish first (the batcher is already closed to new frames), then every worker frees its
          // ONNX sessions, then the threads stop: stopping a thread that still owns a session aborts the process.
          const deadline = Date.now() + 10_000
          while (inFlight() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
          // Bounded: a worker that hangs must not hold the shutdown.
          let timer: ReturnType<typeof setTimeout> | undefined
          await Promise.race([
            Promise.allSettled(Array.from({ length: options.workers }, () => pool.run({ _tag: "Release" }))),
            new Promise((resolve) => {
              timer = setTimeout(resolve, 10_000)
            })
          ])
          clearTimeout(timer)
          await pool.destroy()
        })
    )
    yield* Effect.tryPromise({
      try: () => Promise.all(Array.from({ length: options.workers }, () => pool.run({ _tag: "Warmup" }))),
      catch: (error) => new InferenceFailed({ message: `inference workers did not start: ${messageOf(error)}` })
    }).pipe(
      Effect.flatMap((results) => {
        const failed = results.find((r) => r._tag === "Failed")
        return failed?._tag === "Failed"
          ? Effect.fail(new InferenceFailed({ message: `inference models did not load: ${failed.message}` }))
          : Effect.void
      })
    )

    const tracks = new Map<string, { readonly order: number; readonly state: TrackState }>()
    const remember = (key: string, order: number, state: TrackState) => {
      const previous = tracks.get(key)
      if (previous !== undefined && previous.order > order) return
      tracks.delete(key)
      tracks.set(key, { order, state })
      if (tracks.size > options.maxTrackedSessions) tracks.delete(tracks.keys().next().value!)
    }

    const settle = (p: Pending, outcome: WorkerResult, i: number): Outcome => {
      if (outcome._tag === "Failed") {
        metrics.count("failed")
        return Exit.fail(new InferenceFailed({ message: outcome.message }))
      }
      const frame = outcome.frames[i]
      if (frame === undefined) {
        metrics.count("failed")
        return Exit.fail(new InferenceFailed({ message: "worker returned no result for the frame" }))
      }
      if (frame._tag === "Rejected") {
        metrics.count("rejected")
        return Exit.fail(new FrameRejected({ seq: p.frame.seq, reason: frame.reason, message: frame.message }))
      }
      if (p.frame.sessionKey !== undefined) remember(p.frame.sessionKey, p.order, frame.track)
      const t = frame.analysis.timings
      metrics.analyzed(
        { decode: t.decodeMs, detect: t.detectMs, mesh: t.meshMs, emotion: t.emotionMs, total: t.totalMs },
        performance.now() - p.submittedAt,
        frame.analysis.detectorRan
      )
      return Exit.succeed(frame.analysis)
    }

    /** The test fault of a frame's session, looked up as its batch leaves (the sets change while the pool runs). */
    const faultOf = (sessionKey: string | undefined): { readonly crash?: true; readonly hang?: true } => {
      if (faults === undefined || sessionKey === undefined) return {}
      if (faults.crash.has(sessionKey)) return { crash: true }
      return faults.hang.has(sessionKey) ? { hang: true } : {}
    }

    let tickets = 0
    const runBatch = async (batch: ReadonlyArray<Pending>): Promise<ReadonlyArray<Outcome>> => {
      // One buffer per batch, transferred: a single copy on this side, none across the thread boundary.
      const bytes = new ArrayBuffer(batch.reduce((n, p) => n + p.frame.image.byteLength, 0))
      const view = new Uint8Array(bytes)
      let offset = 0
      const frames = batch.map(({ frame }): FrameJob => {
        view.set(frame.image, offset)
        const job: FrameJob = {
          seq: frame.seq,
          capturedAt: frame.capturedAt,
          offset,
          length: frame.image.byteLength,
          affect: frame.affectEnabled,
          heatmap: frame.heatmap === true,
          ...(frame.heatmapFrom === undefined ? {} : { heatmapFrom: frame.heatmapFrom }),
          track: frame.sessionKey === undefined ? null : (tracks.get(frame.sessionKey)?.state ?? null),
          ...faultOf(frame.sessionKey)
        }
        offset += frame.image.byteLength
        return job
      })
      // Aborting a task that runs makes Piscina stop its worker and start another.
      const ticket = ++tickets
      const abort = new TaskAbort()
      running.set(ticket, abort)
      const result = await pool
        .run({ _tag: "Analyze", ticket, bytes, frames }, { transferList: [bytes], signal: abort })
        .catch((error) => {
          if (abort.aborted) {
            metrics.workerTimedOut()
            throw new TaskTimedOut({
              timeoutMs: options.taskTimeoutMs,
              message: `the inference worker ran over ${options.taskTimeoutMs} ms on this frame's batch and was replaced`
            })
          }
          metrics.workerCrashed()
          throw error
        })
        .finally(() => {
          running.delete(ticket)
        })
      if (result._tag === "Done" && result.cpu !== undefined) metrics.workerCpu(result.cpu.threadId, result.cpu.seconds)
      return batch.map((p, i) => settle(p, result, i))
    }

    const batcher = new FrameBatcher<Pending, Outcome>(
      {
        maxBatch: options.maxBatch,
        maxDelayMs: options.maxDelayMs,
        maxQueue: options.maxQueue,
        maxInFlight: options.workers
      },
      runBatch,
      // The worker never rejects a task itself: a rejection means it died with the batch in hand, or hung and was
      // stopped.
      (error) => {
        if (error instanceof TaskTimedOut) {
          metrics.count("timedOut")
          return Exit.fail(error)
        }
        metrics.count("crashed")
        return Exit.fail(new WorkerCrashed({ message: messageOf(error) }))
      },
      (size) => metrics.batch(size)
    )
    inFlight = () => batcher.inFlightBatches
    gauges = () => ({
      workers: options.workers,
      queueDepth: batcher.queued,
      inFlightFrames: batcher.inFlightItems,
      trackedSessions: tracks.size
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => batcher.close(() => Exit.fail(new InferenceFailed({ message: "inference pool closed" }))))
    )

    let submitted = 0
    const noCancel = () => {}
    const submit = (frame: FrameInput, done: (exit: Outcome) => void): (() => void) => {
      if (frame.image.byteLength === 0) {
        metrics.count("rejected")
        done(Exit.fail(new FrameRejected({ seq: frame.seq, reason: "Empty", message: "empty image" })))
        return noCancel
      }
      const cancel = batcher.submit({ frame, submittedAt: performance.now(), order: submitted++ }, done)
      if (cancel === null) {
        metrics.count("saturated")
        done(Exit.fail(new PoolSaturated({ queued: batcher.queued, maxQueue: options.maxQueue })))
        return noCancel
      }
      return () => {
        metrics.count("cancelled")
        cancel()
      }
    }
    const analyze = (frame: FrameInput): Effect.Effect<FrameAnalysis, AnalyzeError> =>
      Effect.callback<FrameAnalysis, AnalyzeError>((resume) => {
        let settled = false
        const cancel = submit(frame, (exit) => {
          settled = true
          resume(exit)
        })
        if (settled) return
        return Effect.sync(cancel)
      }).pipe(Effect.withSpan("InferencePool.analyze"))

    return {
      analyze,
      submit,
      forget: (sessionKey) =>
        Effect.sync(() => {
          tracks.delete(sessionKey)
        }),
      metrics: Effect.sync(() => metrics.snapshot())
    }
  })

/** The pool with the given options (defaults for the rest); models must already be in `modelsDir`. */
export const layer = (options: Partial<InferencePoolOptions> = {}): Layer.Layer<InferencePool, InferenceFailed> =>
  Layer.effect(InferencePool, make(options))

/** Like `layer`, but first builds or verifies the models (a no-op when they match the manifest). */
export const layerWithModels = (
  options: Partial<InferencePoolOptions> = {}
): Layer.Layer<InferencePool, InferenceFailed | BuildError> =>
  Layer.effect(
    InferencePool,
    Effect.gen(function* () {
      yield* build({ outDir: options.modelsDir ?? DEFAULT_MODELS_DIR, models: ["blazeface", "facemesh", "emotion"] })
      return yield* make(options)
    })
  )
