/**
 * Every job this engine runs, by kind: the recurring sweeps (retention, abandoned interviews) and the work queued
 * by requests. Provided to the runner as `JobHandlers`.
 */
import { Clock, Effect, Layer, Option } from "effect"
import { SessionRegistry } from "../actors/SessionRegistry.ts"
import { AppConfig } from "../config.ts"
import { Retention } from "../retention/Retention.ts"
import { IdleInterviewsSweep } from "../store/IdleInterviews.ts"
import { Interviews } from "../store/Interviews.ts"
import { JobFailed, type JobHandler, JobHandlers } from "./Jobs.ts"

/** Interviews past their tenant's retention are erased (see src/retention). */
export const retentionSweep = (everyMs: number): JobHandler<unknown, Retention> => ({
  kind: "retention.sweep",
  everyMs,
  run: () => Effect.flatMap(Retention, (r) => r.sweep)
})

/** At most this many interviews are marked abandoned per sweep. */
const ABANDON_BATCH = 100

/**
 * Started interviews with no candidate for `abandonAfterMinutes` end as `abandoned`, through their session's actor
 * (the only writer of an interview's state), which refuses while a candidate socket is attached.
 */
export const abandonSweep = (
  everyMs: number,
  abandonAfterMinutes: number
): JobHandler<unknown, IdleInterviewsSweep | Interviews | SessionRegistry> => ({
  kind: "interviews.abandon",
  everyMs,
  run: () =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const idle = yield* Effect.flatMap(IdleInterviewsSweep, (s) =>
        s.find(new Date(now - abandonAfterMinutes * 60_000), ABANDON_BATCH)
      )
      const interviews = yield* Interviews
      const registry = yield* SessionRegistry
      let abandoned = 0
      for (const { id, tenantId } of idle) {
        const interview = yield* interviews.get(tenantId, id)
        if (Option.isNone(interview)) continue
        const outcome = yield* registry.ask(interview.value, { _tag: "abandon" }).pipe(Effect.option)
        if (Option.isSome(outcome) && outcome.value.committed) abandoned++
      }
      if (abandoned > 0) yield* Effect.logInfo(`abandon sweep: ${abandoned} interviews marked abandoned`)
      return { checked: idle.length, abandoned }
    }).pipe(
      Effect.catchTag("SqlError", (e) =>
        Effect.fail(new JobFailed({ message: `database unavailable: ${e.message}`, retry: false }))
      )
    )
})

export const JobHandlersLive = Layer.effect(
  JobHandlers,
  Effect.map(AppConfig, (config) => {
    const handlers: Array<JobHandler<any, any>> = []
    if (config.retentionSweepSeconds > 0) handlers.push(retentionSweep(config.retentionSweepSeconds * 1000))
    if (config.abandonSweepSeconds > 0)
      handlers.push(abandonSweep(config.abandonSweepSeconds * 1000, config.abandonAfterMinutes))
    return handlers
  })
)
