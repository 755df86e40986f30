/**
 * Messages between the InferencePool and its workers. Everything here is structured-clone data; frame bytes of
 * a batch travel in one transferred ArrayBuffer.
 */
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { TrackState } from "./FaceTracker.ts"
import type { Decoder } from "./ImageOps.ts"

/** Fixed for the life of a worker (Piscina `workerData`). */
export interface WorkerSettings {
  readonly modelsDir: string
  /** Images with more pixels are rejected as TooLarge. */
  readonly maxPixels: number
  /** Longer sides are shrunk while decoding. */
  readonly maxSide: number
  /** "turbo": plain JPEGs through libjpeg-turbo, the rest through sharp; "sharp": everything through sharp. */
  readonly decoder: Decoder
  readonly maxFaces: number
  /** Run the detector at least every this many frames of a tracked session (1 = every frame). */
  readonly detectEvery: number
  /** Measure a tracked face's emotion at least every this many frames, carrying it in between (1 = every frame). */
  readonly emotionEvery: number
  readonly eyesClosedThreshold: number
  /** Detector probability below which a candidate is ignored. */
  readonly minDetectionScore: number
  /** Face-mesh face probability below which a face is dropped (and tracking falls back to the detector). */
  readonly minFaceScore: number
  /** Level crops along the eye line before the mesh and emotion models. */
  readonly rotate: boolean
  /** Enables test-only behaviour (a frame that kills or hangs its worker). Never set in production. */
  readonly testHooks: boolean
  /** Where a pool's workers note the tasks they start (see `TaskStarts`); absent outside a pool. */
  readonly taskStarts?: TaskStartsMemory
}

export interface FrameJob {
  readonly seq: number
  readonly capturedAt: number
  /** Byte range of this frame's encoded image within the task's buffer. */
  readonly offset: number
  readonly length: number
  readonly affect: boolean
  readonly heatmap: boolean
  /** Also attach the heat-map when the first face's strongest non-neutral emotion reaches this. */
  readonly heatmapFrom?: number
  /** Tracking state from the session's previous frame; null to detect from scratch. */
  readonly track: TrackState | null
  /** Test hook: the worker exits while holding this frame. Honoured only with `testHooks`. */
  readonly crash?: true
  /** Test hook: the worker blocks for good while holding this frame. Honoured only with `testHooks`. */
  readonly hang?: true
}

export type WorkerTask =
  | {
      readonly _tag: "Analyze"
      /** Names the task in its `TaskStarted` message. */
      readonly ticket: number
      readonly bytes: ArrayBuffer
      readonly frames: ReadonlyArray<FrameJob>
    }
  /** Runs every model once so the first real frame does not pay for lazy allocations. */
  | { readonly _tag: "Warmup" }
  /** Frees the worker's ONNX sessions before it is stopped (a session torn down with its thread aborts the process). */
  | { readonly _tag: "Release" }

/**
 * Where workers note when they start an `Analyze` task, their models loaded: the pool's task timeout runs from
 * there, so time spent waiting for a (re)starting worker does not count. Shared memory, read by the pool's timer,
 * instead of a message per task: slot `ticket % TASK_SLOTS` holds the ticket and its start, in ms since `epoch`
 * (32-bit, compared by differences, so it may wrap). At most one task per worker runs, far fewer than the slots.
 */
export interface TaskStartsMemory {
  readonly buffer: SharedArrayBuffer
  readonly epoch: number
}

export const TASK_SLOTS = 256

export class TaskStarts {
  private readonly slots: Int32Array
  readonly epoch: number

  constructor(memory: TaskStartsMemory) {
    this.slots = new Int32Array(memory.buffer)
    this.epoch = memory.epoch
  }

  static memory(): TaskStartsMemory {
    return { buffer: new SharedArrayBuffer(TASK_SLOTS * 2 * Int32Array.BYTES_PER_ELEMENT), epoch: Date.now() }
  }

  /** The clock the starts are kept in. */
  now(): number {
    return (Date.now() - this.epoch) | 0
  }

  /** The worker starts `ticket` now (the start is stored before the ticket that makes it visible). */
  mark(ticket: number): void {
    const slot = (ticket % TASK_SLOTS) * 2
    Atomics.store(this.slots, slot + 1, this.now())
    Atomics.store(this.slots, slot, ticket)
  }

  /** Milliseconds `ticket` has been running, undefined while no worker has started it. */
  runningFor(ticket: number): number | undefined {
    const slot = (ticket % TASK_SLOTS) * 2
    if (Atomics.load(this.slots, slot) !== ticket) return undefined
    return (this.now() - Atomics.load(this.slots, slot + 1)) | 0
  }
}

export type RejectReason = "Undecodable" | "TooLarge"

export type FrameOutcome =
  | { readonly _tag: "Analyzed"; readonly analysis: FrameAnalysis; readonly track: TrackState }
  | { readonly _tag: "Rejected"; readonly reason: RejectReason; readonly message: string }

/**
 * A task never rejects on purpose: failures come back as `Failed`, so a rejected task can only mean the worker
 * itself died.
 */
export type WorkerResult =
  | {
      readonly _tag: "Done"
      readonly frames: ReadonlyArray<FrameOutcome>
      /** This worker thread's own CPU seconds so far, where the platform tells it. */
      readonly cpu?: { readonly threadId: number; readonly seconds: number }
    }
  | { readonly _tag: "Failed"; readonly message: string }
