import { Schema } from "effect"

/** The frame itself is unusable (not an image, truncated, over the pixel limit, empty); retrying cannot help. */
export class FrameRejected extends Schema.TaggedError<FrameRejected>()("FrameRejected", {
  seq: Schema.Number,
  reason: Schema.Literals(["Undecodable", "TooLarge", "Empty"]),
  message: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
}

/** The pool's queue is full: the caller should drop the frame or slow its producer down. */
export class PoolSaturated extends Schema.TaggedError<PoolSaturated>()("PoolSaturated", {
  queued: Schema.Number,
  maxQueue: Schema.Number
}) {
  get retryable(): boolean {
    return true
  }
}

/** The worker holding the frame died; Piscina has replaced it and the same frame may be sent again. */
export class WorkerCrashed extends Schema.TaggedError<WorkerCrashed>()("WorkerCrashed", {
  message: Schema.String
}) {
  get retryable(): boolean {
    return true
  }
}

/**
 * The worker task holding the frame ran longer than the pool's task timeout (a hung worker): the worker was stopped
 * and replaced. Not retryable: the same frame may hang the next worker too.
 */
export class TaskTimedOut extends Schema.TaggedError<TaskTimedOut>()("TaskTimedOut", {
  timeoutMs: Schema.Number,
  message: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
}

/** Anything else that went wrong while analysing (models failed to load or run, pool shut down). */
export class InferenceFailed extends Schema.TaggedError<InferenceFailed>()("InferenceFailed", {
  message: Schema.String
}) {
  get retryable(): boolean {
    return false
  }
}

export type AnalyzeError = FrameRejected | PoolSaturated | WorkerCrashed | TaskTimedOut | InferenceFailed
