/**
 * Erasing an interview while sessions run. Its live session is stopped first (without a final write; its socket
 * is told `erased`), its unwritten rows, keyframes and live view are dropped, and then the caller's `remove` runs
 * while no actor can start for it. Nothing is written for the interview afterwards: the interviews erased last are
 * remembered, so a request that looked one up before the erasure and comes late starts no session either.
 */
import { Effect } from "effect"
import type { ActorDeps } from "./ActorMessages.ts"

/** How many erased interviews are remembered. */
const rememberedErasures = 10_000

export interface Erasures {
  /** Whether the interview is being or was erased: no actor may start for it. */
  readonly blocks: (interviewId: string) => boolean
  /** Erases the interview's session state, then runs `remove` (see the module comment). */
  readonly erase: <A, E, R>(interviewId: string, remove: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** `stopLive` stops the interview's actor as erased, if one runs or is starting, and waits until it has. */
export const makeErasures = (
  deps: Pick<ActorDeps, "keyframes" | "writes" | "live">,
  stopLive: (interviewId: string) => Effect.Effect<void>
): Erasures => {
  const erasing = new Set<string>()
  const erased = new Set<string>()
  return {
    blocks: (interviewId) => erasing.has(interviewId) || erased.has(interviewId),
    erase: (interviewId, remove) =>
      Effect.acquireUseRelease(
        Effect.sync(() => erasing.add(interviewId)),
        () =>
          Effect.gen(function* () {
            yield* stopLive(interviewId)
            yield* deps.keyframes.discard(interviewId)
            yield* deps.writes.discard(interviewId)
            yield* deps.live.discard(interviewId)
            const result = yield* remove
            erased.add(interviewId)
            if (erased.size > rememberedErasures) erased.delete(erased.values().next().value!)
            return result
          }),
        () => Effect.sync(() => erasing.delete(interviewId))
      )
  }
}
