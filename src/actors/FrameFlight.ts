/**
 * Frames between a session's mailbox and its scorers. Each accepted frame goes to the inference pool at once (the
 * actor takes a new one only while there is room), and results are applied in the order the frames were sent,
 * whatever order they finish in. Analyses complete through the actor's mailbox, so results are only ever applied
 * on the actor's fiber. A worker that died holding the frame gets the frame once more; every other failure is
 * answered to the socket the frame came on (`frame_failed` for a worker that died twice or hung), so each frame
 * gets an analysis or an error.
 */
import { Cause, Exit, Option } from "effect"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { ErrorCode, ServerMessage } from "../../schemas/Protocol.ts"
import type { AnalyzeError } from "../inference/InferenceErrors.ts"
import type { IncomingFrame } from "../pipeline/FrameProtocol.ts"
import type { SessionStats } from "./SessionStats.ts"

/** The actor's view of a candidate socket. */
export interface CandidateConnection {
  readonly id: number
  /** Optional messages (`essential` false) may be skipped while the client is not reading; essential ones never. */
  readonly send: (message: ServerMessage, essential: boolean) => void
  readonly close: (code: number, reason: string) => void
}

/** A frame and the socket it came on: its reply goes there, even if another socket has taken over since. */
export interface Arrival {
  readonly frame: IncomingFrame
  readonly origin: CandidateConnection
}

export interface Job extends Arrival {
  /** Due as the periodic keyframe: its heat-map is wanted. */
  readonly planned: boolean
  /** Not planned, but an expression this strong would make it a keyframe: its heat-map is wanted then. */
  readonly expressionBar: number | undefined
  /** Affect signals in force when the frame was taken: without them it is analysed without emotion and blinks. */
  readonly affect: boolean
  exit: Exit.Exit<FrameAnalysis, AnalyzeError> | undefined
  retried: boolean
}

export interface FlightHooks {
  /** Starts analysing `job`; the actor sets `job.exit` and calls `settle` when it is done. */
  readonly analyze: (job: Job) => void
  /** Applies a successful analysis (scorers, replies, sinks). */
  readonly analyzed: (job: Job, analysis: FrameAnalysis) => void
  /** The pool is saturated: ask the socket to send fewer frames. */
  readonly slowDown: (to: CandidateConnection) => void
}

export const frameError = (seq: number, code: ErrorCode, message: string): ServerMessage => ({
  _tag: "error",
  code,
  message,
  seq
})

export class FrameFlight {
  private readonly jobs: Array<Job> = []

  constructor(
    private readonly limit: number,
    private readonly stats: SessionStats,
    private readonly hooks: FlightHooks
  ) {}

  get size(): number {
    return this.jobs.length
  }

  get hasRoom(): boolean {
    return this.jobs.length < this.limit
  }

  start(arrival: Arrival, planned: boolean, affect: boolean, expressionBar?: number): void {
    const { frame, origin } = arrival
    const job: Job = { frame, origin, planned, expressionBar, affect, exit: undefined, retried: false }
    this.jobs.push(job)
    this.hooks.analyze(job)
  }

  /** Applies finished analyses in the order their frames were sent. */
  settle(): void {
    while (this.jobs.length > 0 && this.jobs[0]!.exit !== undefined) this.apply(this.jobs.shift()!)
  }

  /** Forgets every frame in flight (a restart; their analyses were interrupted). */
  clear(): void {
    this.jobs.length = 0
  }

  private apply(job: Job) {
    const exit = job.exit!
    if (Exit.isSuccess(exit)) {
      this.stats.framesAnalyzed++
      return this.hooks.analyzed(job, exit.value)
    }
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isNone(error)) {
      if (Cause.hasInterruptsOnly(exit.cause)) return
      throw Cause.squash(exit.cause)
    }
    this.stats.frameErrors++
    const seq = job.frame.seq
    const reply = (code: ErrorCode, message: string) => job.origin.send(frameError(seq, code, message), false)
    switch (error.value._tag) {
      case "FrameRejected":
        return reply("bad_image", error.value.message)
      case "PoolSaturated":
        reply("overloaded", "analysis capacity is saturated; frame dropped")
        return this.hooks.slowDown(job.origin)
      case "WorkerCrashed":
        if (!job.retried) {
          job.retried = true
          job.exit = undefined
          this.jobs.unshift(job)
          return this.hooks.analyze(job)
        }
        return reply("frame_failed", "analysis failed twice on this frame")
      case "TaskTimedOut":
        // Not retried: the same frame could hang the next worker too.
        return reply("frame_failed", error.value.message)
      case "InferenceFailed":
        return reply("analysis_failed", error.value.message)
    }
  }
}
