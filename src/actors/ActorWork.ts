/**
 * Work a SessionActor starts off its own fiber: frames analysed by the inference pool, and rows committed through
 * the write-behind buffer. Each completion comes back as a message in the actor's mailbox (`Analyzed`,
 * `Committed`), so what it changes is only ever changed on the actor's fiber. A restart takes back the analyses
 * in flight, not the commits. Frames go to the pool by callback where it offers one (`submit`: no fiber per
 * frame), else each runs in a fiber of its own; commits run in a fiber set.
 */
import { Cause, Effect, Exit, FiberSet, Option, type Scope } from "effect"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { FrameInput } from "../inference/InferencePool.ts"
import type { AnalyzeError } from "../inference/InferenceErrors.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import type { ActorDeps, ActorMailbox, ActorMessage } from "./ActorMessages.ts"
import type { Job } from "./FrameFlight.ts"
import type { SessionInfo } from "./SessionInfo.ts"

export interface ActorWork {
  /** Starts analysing `job`; when done, its exit is set on the job and `Analyzed` is posted. */
  readonly analyze: (job: Job) => void
  /** Starts committing `rows` for the commit `slot`; `Committed` is posted when done. */
  readonly commit: (slot: number, rows: ReadonlyArray<SessionWrite>) => void
  /** Interrupts the analyses in flight (a restart: their frames are forgotten). */
  readonly interruptAnalyses: Effect.Effect<void>
  /** Interrupts whatever still runs (the actor has stopped). */
  readonly interruptAll: Effect.Effect<void>
}

const ANALYZED: ActorMessage = { _tag: "Analyzed" }

/** The actor's work, in fiber sets of the current scope. */
export const makeWork = (
  info: SessionInfo,
  deps: ActorDeps,
  mailbox: ActorMailbox
): Effect.Effect<ActorWork, never, Scope.Scope> =>
  Effect.gen(function* () {
    const id = info.interviewId
    const analyses = yield* FiberSet.make()
    const forkAnalysis = yield* FiberSet.runtime(analyses)()
    const commits = yield* FiberSet.make()
    const forkCommit = yield* FiberSet.runtime(commits)()
    const frameOf = (job: Job): FrameInput => ({
      sessionKey: id,
      seq: job.frame.seq,
      capturedAt: job.frame.capturedAt,
      image: job.frame.image,
      affectEnabled: job.affect,
      heatmap: job.planned && job.affect,
      ...(job.affect && job.expressionBar !== undefined ? { heatmapFrom: job.expressionBar } : {})
    })
    const finished = (job: Job, exit: Exit.Exit<FrameAnalysis, AnalyzeError>) => {
      job.exit = exit
      mailbox.offerInternal(ANALYZED)
    }
    // Frames the pool takes by callback: no fiber per frame. Each entry takes its frame back (a restart).
    const submitted = new Set<() => void>()
    const submit = deps.pool.submit
    const takeBack = Effect.sync(() => {
      const cancels = [...submitted]
      submitted.clear()
      for (const cancel of cancels) cancel()
    })
    const analyze =
      submit !== undefined
        ? (job: Job) => {
            let cancel: (() => void) | undefined
            let done = false
            cancel = submit(frameOf(job), (exit) => {
              done = true
              if (cancel !== undefined) submitted.delete(cancel)
              finished(job, exit)
            })
            if (!done) submitted.add(cancel)
            else cancel = undefined
          }
        : (job: Job) => {
            forkAnalysis(
              Effect.exit(deps.pool.analyze(frameOf(job))).pipe(
                Effect.flatMap((exit) => Effect.sync(() => finished(job, exit)))
              )
            )
          }
    return {
      analyze,
      commit: (slot, rows) =>
        forkCommit(
          Effect.exit(deps.writes.submitDurable(id, rows)).pipe(
            Effect.flatMap((exit) =>
              Effect.sync(() =>
                mailbox.offerInternal({
                  _tag: "Committed",
                  slot,
                  failure: Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
                })
              )
            )
          )
        ),
      interruptAnalyses: Effect.andThen(takeBack, FiberSet.clear(analyses)),
      interruptAll: Effect.andThen(Effect.andThen(takeBack, FiberSet.clear(analyses)), FiberSet.clear(commits))
    }
  })
