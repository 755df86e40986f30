/**
 * How a session survives its own defects: the actor's work runs under `supervise`, and a defect anywhere in it
 * (a scorer, a commit's delivery, a reply) restarts the work from the last snapshot (`restartFromSnapshot`),
 * until `RestartBudget` says the session fails too often to go on.
 */
import { Cause, Clock, Effect, Exit } from "effect"
import { sessionAnnouncer } from "./ActorMessages.ts"
import type { ActorState } from "./ActorState.ts"

/** More than `max` restarts within `windowMs` spends the budget. */
export class RestartBudget {
  private readonly restarts: Array<number> = []

  constructor(
    private readonly max: number,
    private readonly windowMs: number
  ) {}

  /** Records a restart at `now`; false when the budget is spent. */
  take(now: number): boolean {
    this.restarts.push(now)
    while (this.restarts.length > 0 && now - this.restarts[0]! > this.windowMs) this.restarts.shift()
    return this.restarts.length <= this.max
  }

  get recent(): number {
    return this.restarts.length
  }
}

export type Supervised = "done" | "interrupted" | "failed"

/**
 * Runs `work` until it completes; after a defect, `recover` decides whether to run it again (true) or give up.
 * Interruption is not a defect: the scope is closing and nothing restarts.
 */
export const supervise = (
  work: Effect.Effect<void>,
  recover: (cause: Cause.Cause<unknown>) => Effect.Effect<boolean>
): Effect.Effect<Supervised> =>
  Effect.gen(function* () {
    while (true) {
      const exit = yield* Effect.exit(work)
      if (Exit.isSuccess(exit)) return "done"
      if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
      if (!(yield* recover(exit.cause))) return "failed"
    }
  })

/**
 * The recovery `supervise` runs after a defect of a session's actor: the frames in flight are dropped, and, unless
 * the budget is spent, a new core resumes from the last snapshot (or from where the session started, numbering
 * events after the last one) and the socket is told `session` again, resumed. A spent budget stops the session as
 * failed.
 */
export const restartFromSnapshot =
  (s: ActorState, budget: RestartBudget) =>
  (cause: Cause.Cause<unknown>): Effect.Effect<boolean> =>
    Effect.gen(function* () {
      const id = s.info.interviewId
      s.deps.stats.restarts++
      yield* s.work.interruptAnalyses
      s.flight.clear()
      s.out.clear()
      if (!budget.take(yield* Clock.currentTimeMillis)) {
        yield* Effect.logError(`session ${id} failed ${budget.recent} times; stopping it`, cause)
        s.life.send({ _tag: "error", code: "internal", message: "the session failed; reconnect to resume" }, true)
        s.life.stopReason = "failed"
        return false
      }
      yield* Effect.logError(`session ${id} failed; restarting from its last snapshot`, cause)
      const maxEventSeq = s.core.eventSequence
      // Consent decisions are committed rows, told to the core after: they carry over, like the event sequence.
      const consent = s.core.consent.standing
      const { lastSnapshot, restore } = s
      s.core = s.newCore(
        lastSnapshot === undefined
          ? { ...restore, maxEventSeq, consent }
          : { snapshot: lastSnapshot, maxEventSeq, answers: restore.answers, consent }
      )
      s.life.send(sessionAnnouncer(s.deps.settings)(s.core, true), true)
      return true
    })
