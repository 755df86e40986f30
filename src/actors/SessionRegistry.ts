/**
 * One SessionActor per interview in this process. `acquire` returns the running actor or starts one from the
 * interview's stored state; concurrent acquires for the same interview share one start, and an acquire that
 * meets an actor on its way out waits for it to finish (its final snapshot) and starts a fresh one.
 *
 * Socket policy (enforced by the actor): the newest candidate socket of an interview wins; the previous one is
 * told `replaced` and closed with 4001. A page reload or a second tab takes over instead of being refused.
 *
 * When its scope closes, every actor is stopped: accepted frames analysed, acknowledgements delivered, final
 * snapshots committed, sockets closed with 1001.
 */
import { Context, Deferred, Effect, Exit, Layer, Option, Scope } from "effect"
import { InferencePool } from "../inference/InferencePool.ts"
import { Metrics } from "../Metrics.ts"
import { KeyframeSink } from "../pipeline/KeyframeSink.ts"
import { LiveSink } from "../pipeline/LiveSink.ts"
import type { InterviewRecord } from "../store/Interviews.ts"
import { newId } from "../store/Rows.ts"
import { SessionSnapshots } from "../store/SessionSnapshots.ts"
import { WriteBehind } from "../store/WriteBehind.ts"
import type { CommandOutcome } from "./CommitQueue.ts"
import { type ActorDeps, type SessionHandle, start } from "./SessionActor.ts"
import { ReportLinks } from "./ReportLinks.ts"
import { SessionConfig } from "./SessionConfig.ts"
import { makeErasures } from "./SessionErasure.ts"
import type { CoreCommand } from "./SessionCore.ts"
import { decodeSnapshot } from "./SessionMessages.ts"
import { SessionStats } from "./SessionStats.ts"
import { SessionUnavailable } from "./SessionUnavailable.ts"

export { SessionUnavailable }

export interface SessionRegistryShape {
  /** The interview's actor, started if needed. */
  readonly acquire: (interview: InterviewRecord) => Effect.Effect<SessionHandle, SessionUnavailable>
  /**
   * Sends a command to the interview's actor (started if needed) on behalf of a caller, and waits for its outcome,
   * acknowledged after commit: the one way anything but the candidate's socket changes an interview's session.
   */
  readonly ask: (interview: InterviewRecord, command: CoreCommand) => Effect.Effect<CommandOutcome, SessionUnavailable>
  /**
   * Erases an interview: its live session is stopped first (without a final write; its socket is told `erased`),
   * its unwritten rows and keyframes are dropped, then `remove` runs while no actor can start for it. Nothing is
   * written for the interview afterwards.
   */
  readonly erase: <A, E, R>(interviewId: string, remove: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The tenant published a new notice: its live sessions count consent on `version` from now on. */
  readonly noticeChanged: (tenantId: string, version: string) => Effect.Effect<void>
  readonly find: (interviewId: string) => SessionHandle | undefined
  readonly size: () => number
  /** Stops every actor (see the module comment); new acquires are refused from then on. */
  readonly shutdown: Effect.Effect<void>
  readonly stats: SessionStats
}

interface Entry {
  readonly tenantId: string
  readonly starting: Deferred.Deferred<SessionHandle, SessionUnavailable>
  handle: SessionHandle | undefined
}

/** This process's actors: the whole registry on one node; in cluster mode, the actors of the entities it owns. */
const makeLocal = Effect.gen(function* () {
  const settings = yield* SessionConfig
  const snapshots = yield* SessionSnapshots
  const metrics = yield* Metrics
  const reportLinks = yield* ReportLinks
  // Actors live in a child scope created before the shutdown finaliser is added, so that on close the
  // finaliser (stop and flush every actor) runs first and the scope (interrupting what is left) after it.
  const scope = yield* Scope.fork(yield* Effect.scope)
  const stats = new SessionStats()
  const deps: ActorDeps = {
    pool: yield* InferencePool,
    writes: yield* WriteBehind,
    live: yield* LiveSink,
    keyframes: yield* KeyframeSink,
    settings,
    stats,
    newId
  }
  const entries = new Map<string, Entry>()
  let closing = false

  // Stops the actor of an interview being erased, once started if it is starting.
  const erasures = makeErasures(deps, (interviewId) =>
    Effect.gen(function* () {
      const entry = entries.get(interviewId)
      if (entry === undefined) return
      const started =
        entry.handle === undefined ? yield* Effect.exit(Deferred.await(entry.starting)) : Exit.succeed(entry.handle)
      if (Exit.isSuccess(started)) yield* started.value.stop("erased")
    })
  )

  const unavailable = (interviewId: string, message: string, reason: SessionUnavailable["reason"] = "busy") =>
    new SessionUnavailable({ interviewId, message, reason })

  const startActor = (interview: InterviewRecord, entry: Entry) =>
    Effect.gen(function* () {
      const stored = yield* snapshots
        .load(interview.id)
        .pipe(Effect.mapError(() => unavailable(interview.id, "database unavailable")))
      if (stored === undefined) return yield* unavailable(interview.id, "the interview does not exist", "gone")
      const snapshot =
        stored.snapshot === undefined ? undefined : Option.getOrUndefined(decodeSnapshot(stored.snapshot.state))
      if (stored.snapshot !== undefined && snapshot === undefined) {
        yield* Effect.logWarning(`session ${interview.id}: unreadable snapshot; resuming from the answers on record`)
      }
      const actorScope = yield* Scope.fork(scope)
      const handle = yield* start(
        {
          interviewId: interview.id,
          tenantId: interview.tenantId,
          affect: interview.affectSignals,
          questions: interview.questions.map((q) => ({ id: q.id, index: q.index, prompt: q.prompt })),
          reportUrl: reportLinks(interview.id)
        },
        { snapshot, maxEventSeq: stored.maxEventSeq, answers: stored.answers, consent: stored.consent },
        deps
      ).pipe(Scope.provide(actorScope))
      entry.handle = handle
      // When the actor stops, it leaves the registry and its scope (tick timer, fibers) closes.
      yield* Effect.forkIn(
        Effect.andThen(
          handle.done,
          Effect.suspend(() => {
            if (entries.get(interview.id) === entry) entries.delete(interview.id)
            return Scope.close(actorScope, Exit.void)
          })
        ),
        scope
      )
      return handle
    })

  const acquire = (interview: InterviewRecord): Effect.Effect<SessionHandle, SessionUnavailable> =>
    Effect.gen(function* () {
      while (true) {
        if (closing) return yield* Effect.fail(unavailable(interview.id, "server is shutting down"))
        if (erasures.blocks(interview.id)) return yield* unavailable(interview.id, "the interview was erased", "gone")
        const entry = entries.get(interview.id)
        if (entry === undefined) {
          const fresh: Entry = { tenantId: interview.tenantId, starting: Deferred.makeUnsafe(), handle: undefined }
          entries.set(interview.id, fresh)
          // Uninterruptible: an aborted upgrade must not leave the start half done for the next caller.
          const exit = yield* Effect.exit(Effect.uninterruptible(startActor(interview, fresh)))
          if (Exit.isFailure(exit) && entries.get(interview.id) === fresh) entries.delete(interview.id)
          Deferred.doneUnsafe(fresh.starting, exit)
          return yield* exit
        }
        const handle = entry.handle ?? (yield* Deferred.await(entry.starting))
        if (!handle.closed()) return handle
        yield* handle.done
        if (entries.get(interview.id) === entry) entries.delete(interview.id)
      }
    })

  const ask = (interview: InterviewRecord, command: CoreCommand) =>
    Effect.gen(function* () {
      // An actor on its way out answers `notTaken` for what it did not take: a fresh one is asked then.
      while (true) {
        const handle = yield* acquire(interview)
        const outcome = yield* handle.ask(command)
        if (outcome === "busy") return yield* unavailable(interview.id, "too many commands waiting; retry")
        if (outcome.notTaken !== true) return outcome
        yield* handle.done
      }
    })

  const shutdown = Effect.gen(function* () {
    closing = true
    const handles = [...entries.values()].flatMap((e) => (e.handle === undefined ? [] : [e.handle]))
    yield* Effect.forEach(handles, (h) => h.stop("shutdown"), { concurrency: "unbounded", discard: true })
  })

  const remove = stats.register(metrics)
  yield* Effect.addFinalizer(() => Effect.andThen(shutdown, Effect.sync(remove)))

  return {
    noticeChanged: (tenantId, version) =>
      Effect.forEach(
        [...entries.values()].flatMap((e) => (e.tenantId === tenantId && e.handle ? [e.handle] : [])),
        (handle) => handle.ask({ _tag: "notice", version }),
        { concurrency: "unbounded", discard: true }
      ),
    acquire,
    ask,
    erase: erasures.erase,
    find: (interviewId) => entries.get(interviewId)?.handle,
    size: () => entries.size,
    shutdown,
    stats
  } satisfies SessionRegistryShape
})

/**
 * How the engine reaches interview sessions. On one node it is the local registry; in cluster mode it routes every
 * call to the interview's entity on its owning runner (`src/cluster/ClusterSessions.ts`).
 */
export class SessionRegistry extends Context.Service<SessionRegistry, SessionRegistryShape>()(
  "candor/SessionRegistry"
) {
  static readonly layer = Layer.effect(SessionRegistry, makeLocal)
}

/** The actors running in this process (cluster mode: what the entities owned here run on). */
export class LocalSessions extends Context.Service<LocalSessions, SessionRegistryShape>()("candor/LocalSessions") {
  static readonly layer = Layer.effect(LocalSessions, makeLocal)
}
