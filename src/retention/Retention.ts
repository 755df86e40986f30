/**
 * Retention: a sweep erases every interview older than its tenant's `retention_days` (counted from when it
 * finished, or from its creation while it has not finished) through the one erasure path, with reason `retention`.
 * Each interview due is first claimed with a lease in the database, so sweeps of several engines on one database
 * (or two at once in one engine) never erase the same interview at once; a sweep interrupted mid-way gives its claim
 * back and the next sweep takes it up, and an engine stopped hard leaves a lease that expires after `leaseMs`.
 *
 * Sweeps run as a recurring durable job (src/jobs/handlers.ts), every `RETENTION_SWEEP_SECONDS`, once per period
 * across engines. Time comes from Effect's `Clock`: a sweep run on an advanced clock sees the interviews due then.
 */
import { Clock, Context, Effect, Layer, Option } from "effect"
import { Erasures } from "../store/Erasures.ts"
import { newId } from "../store/Rows.ts"
import { Erasure } from "./Erasure.ts"

/** What became of one claimed interview: erased by this sweep, gone meanwhile (erased by another), failed. */
type Outcome = "erased" | "gone" | "failed"

export interface SweepResult {
  /** Interviews this sweep claimed, erased (tombstone and audit row written by it), and failed to erase. */
  readonly claimed: number
  readonly erased: number
  readonly failed: number
}

export interface RetentionOptions {
  /** How long a claim holds off other sweeps; an erasure left half done by a stopped engine waits this long. */
  readonly leaseMs: number
  /** At most this many interviews per sweep, so one sweep never runs unbounded. */
  readonly maxPerSweep: number
}

export const defaultRetentionOptions: RetentionOptions = { leaseMs: 10 * 60_000, maxPerSweep: 1000 }

export interface RetentionShape {
  /** This engine's name on its claims. */
  readonly owner: string
  readonly sweep: Effect.Effect<SweepResult>
}

export class Retention extends Context.Service<Retention, RetentionShape>()("candor/Retention") {
  static readonly layer = (options: Partial<RetentionOptions> = {}) =>
    Layer.effect(
      Retention,
      Effect.gen(function* () {
        const { leaseMs, maxPerSweep } = { ...defaultRetentionOptions, ...options }
        const erasures = yield* Erasures
        const erasure = yield* Erasure
        const owner = `engine-${newId()}`

        /** Claims and erases one interview due; none when nothing is due (or every one due is claimed). */
        const one = Effect.gen(function* () {
          const now = new Date(yield* Clock.currentTimeMillis)
          const claim = yield* erasures.claimDue({ owner, now, leaseMs })
          if (Option.isNone(claim)) return Option.none<Outcome>()
          const { interviewId, tenantId } = claim.value
          const outcome = yield* erasure.erase({ tenantId, interviewId, reason: "retention", actor: "system" }).pipe(
            Effect.onInterrupt(() => Effect.ignore(erasures.release(owner, interviewId))),
            Effect.map((o): Outcome => (o.erased ? "erased" : "gone")),
            // A failed erasure keeps its claim until the lease expires: retried then, not in a tight loop.
            Effect.catchTag("ErasureFailed", (e) =>
              Effect.as(
                Effect.logWarning(`retention: erasing interview ${interviewId} failed at ${e.stage}: ${e.message}`),
                "failed" as const
              )
            )
          )
          return Option.some(outcome)
        })

        const sweep = Effect.gen(function* () {
          let claimed = 0
          let erased = 0
          let failed = 0
          while (claimed < maxPerSweep) {
            const next = yield* one
            if (Option.isNone(next)) break
            claimed++
            if (next.value === "erased") erased++
            else if (next.value === "failed") failed++
          }
          if (claimed > 0) yield* Effect.logInfo(`retention sweep: ${erased} erased, ${failed} failed`)
          return { claimed, erased, failed }
        }).pipe(
          Effect.catchTag("SqlError", (e) =>
            Effect.as(Effect.logWarning(`retention sweep: database unavailable: ${e.message}`), {
              claimed: 0,
              erased: 0,
              failed: 0
            })
          ),
          Effect.withSpan("Retention.sweep")
        )

        return { owner, sweep }
      })
    )
}
