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
}

export interface FrameJob {
  readonly seq: number
  readonly capturedAt: number
  /** Byte range of this frame's encoded image within the task's buffer. */
  readonly offset: number
  readonly length: number
  readonly affect: boolean
  readonly heatmap: boolean
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
 * Posted by a worker (on its parent port) when it starts working on an `Analyze` task, its models loaded: the
 * pool's task timeout runs from here, so time spent waiting for a (re)starting worker does not count.
 */
export interface TaskStarted {
  readonly _tag: "candor/TaskStarted"
  readonly ticket: number
}

export const isTaskStarted = (message: unknown): message is TaskStarted =>
  typeof message === "object" && message !== null && (message as { _tag?: unknown })._tag === "candor/TaskStarted"

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
