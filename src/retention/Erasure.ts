/**
 * The one erasure path, taken on request (`DELETE /v1/interviews/:id`) and by retention sweeps alike. The
 * interview's live session in this engine stops first and nothing of it is written afterwards; then its media go (if
 * that fails the rows still point at them and the erasure can be retried), then its live view, and last, in one
 * transaction, its rows with a tombstone and the audit row. Every step before the last can be repeated, so an
 * erasure left half done is finished by doing it again.
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { SessionRegistry } from "../actors/SessionRegistry.ts"
import { liveKey } from "../pipeline/LiveSink.ts"
import { type ErasureReason, Erasures } from "../store/Erasures.ts"
import { LiveStore } from "../store/LiveStore.ts"
import { MediaStore } from "../store/MediaStore.ts"

export class ErasureFailed extends Schema.TaggedError<ErasureFailed>()("ErasureFailed", {
  interviewId: Schema.String,
  /** `media`: nothing of the rows was erased; `database`: media are gone, the rows are not. Either way: retry. */
  stage: Schema.Literals(["media", "database"]),
  message: Schema.String
}) {}

export interface ErasureRequest {
  readonly tenantId: string
  readonly interviewId: string
  readonly reason: ErasureReason
  /** Who asks, for the audit row: `key:<id>` on request, `system` for retention. */
  readonly actor: string
  /** Where the request came from, for the audit row. */
  readonly source?: string
}

export interface ErasureOutcome {
  /** False when the interview was no longer there (erased meanwhile by another caller): nothing recorded then. */
  readonly erased: boolean
  readonly mediaObjects: number
}

export interface ErasureShape {
  readonly erase: (request: ErasureRequest) => Effect.Effect<ErasureOutcome, ErasureFailed>
}

export class Erasure extends Context.Service<Erasure, ErasureShape>()("candor/Erasure") {
  static readonly layer = Layer.effect(
    Erasure,
    Effect.gen(function* () {
      const sessions = yield* SessionRegistry
      const media = yield* MediaStore
      const live = yield* LiveStore
      const erasures = yield* Erasures
      const failed = (request: ErasureRequest, stage: ErasureFailed["stage"]) => (cause: { message: string }) =>
        new ErasureFailed({ interviewId: request.interviewId, stage, message: cause.message })
      return {
        erase: (request) =>
          sessions
            .erase(
              request.interviewId,
              Effect.gen(function* () {
                const mediaObjects = yield* media
                  .deletePrefix(`${request.interviewId}/`)
                  .pipe(Effect.mapError(failed(request, "media")))
                // The live view has a TTL: an unreachable live store does not hold the erasure up.
                yield* live.del(liveKey(request.interviewId)).pipe(Effect.ignore)
                const erasedAt = new Date(yield* Clock.currentTimeMillis)
                const erased = yield* erasures
                  .commit({
                    tenantId: request.tenantId,
                    interviewId: request.interviewId,
                    reason: request.reason,
                    erasedAt,
                    actor: request.actor,
                    ...(request.source === undefined ? {} : { source: request.source }),
                    detail: { mediaObjects }
                  })
                  .pipe(Effect.mapError(failed(request, "database")))
                return { erased, mediaObjects }
              })
            )
            .pipe(Effect.withSpan("Erasure.erase", { attributes: { reason: request.reason } }))
      }
    })
  )
}
