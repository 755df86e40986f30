/**
 * How a session survives its own defects: the actor's work runs under `supervise`, and a defect anywhere in it
 * (a scorer, a commit's delivery, a reply) restarts the work from the last snapshot, until `RestartBudget` says
 * the session fails too often to go on.
 */
import { Cause, Effect, Exit } from "effect"

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
