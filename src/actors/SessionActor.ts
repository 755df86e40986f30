/**
 * One interview's actor: a fiber that owns the interview's `SessionCore` and is the only writer of its session
 * state. Everything reaches it through its bounded `Mailbox` — socket events, candidate commands, answers and
 * finish over HTTP, frames — and everything it started comes back the same way (analyses, commits, ticks), so
 * every change happens on this one supervised fiber, with time from Effect's `Clock`.
 *
 * The parts: `FrameFlight` (frames in flight to the inference pool, applied in order), `CommitQueue` (outcomes
 * acknowledged after commit, in command order), `SessionLifecycle` (the socket, passivation, stopping) and
 * `Supervision` (a defect restarts the core from its last snapshot; too many stop the session).
 */
import { Cause, Clock, Deferred, Effect, Exit, FiberSet, Option, type Scope } from "effect"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { CloseCodes, type ServerMessage } from "../../schemas/Protocol.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import { type ActorDeps, type ActorMessage, sessionAnnouncer } from "./ActorMessages.ts"
import { CommitQueue, type Requester, socketRequester } from "./CommitQueue.ts"
import { type Arrival, FrameFlight, frameError } from "./FrameFlight.ts"
import { Mailbox } from "./Mailbox.ts"
import { Outbox } from "./Outbox.ts"
import { type CoreCommand, SessionCore } from "./SessionCore.ts"
import type { SessionInfo } from "./SessionInfo.ts"
import { makeHandle, type SessionHandle } from "./SessionHandle.ts"
import { SessionLifecycle } from "./SessionLifecycle.ts"
import type { SessionSnapshot } from "./SessionMessages.ts"
import type { RestorePoint } from "./SessionState.ts"
import { makeSink } from "./SessionSink.ts"
import { RestartBudget, supervise } from "./Supervision.ts"

export type { ActorDeps } from "./ActorMessages.ts"
export type { CandidateConnection } from "./FrameFlight.ts"
export type { SessionHandle } from "./SessionHandle.ts"
export type { StopReason } from "./SessionLifecycle.ts"

const TICK: ActorMessage = { _tag: "Tick" }
const ANALYZED: ActorMessage = { _tag: "Analyzed" }

/** Starts the actor in the current scope (closing the scope interrupts it without flushing; use `stop`). */
export const start = (
  info: SessionInfo,
  restore: RestorePoint,
  deps: ActorDeps
): Effect.Effect<SessionHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { settings, stats, pool, writes } = deps
    const id = info.interviewId
    const mailbox = new Mailbox<ActorMessage, { command: CoreCommand; requester: Requester }, Arrival>(
      settings.mailboxControl,
      settings.mailboxFrames
    )
    const newCore = (from: RestorePoint) => new SessionCore(info, settings, from, deps.newId)
    let core = newCore(restore)
    let lastSnapshot: SessionSnapshot | undefined = restore.snapshot
    const out = new Outbox()
    const life = new SessionLifecycle(settings, yield* Clock.currentTimeMillis)
    const budget = new RestartBudget(settings.maxRestarts, settings.restartWindowMs)
    const announce = sessionAnnouncer(settings)
    const stopped = Deferred.makeUnsafe<void>()
    let terminated = false
    let now = 0

    const work = yield* FiberSet.make()
    const fork = yield* FiberSet.runtime(work)()
    const commitFibers = yield* FiberSet.make()
    const forkCommit = yield* FiberSet.runtime(commitFibers)()

    const sink = makeSink(info, deps, life, () => now)
    const commits = new CommitQueue(id, {
      send: (m) => life.send(m, true),
      finished: () => life.close(CloseCodes.normal, "interview finished"),
      publish: sink.publishCommitted,
      failed: (failure) => {
        life.send({ _tag: "error", code: "write_failed", message: failure.message }, true)
        life.close(CloseCodes.internal, "interview no longer available")
        life.requestStop("failed", now)
      },
      commit: (slot, rows) => {
        for (const w of rows) if (w._tag === "Snapshot") lastSnapshot = w.state as SessionSnapshot
        forkCommit(
          Effect.exit(writes.submitDurable(id, rows)).pipe(
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
        )
      }
    })
    const flight = new FrameFlight(settings.inFlightFrames, stats, {
      analyze: (job) =>
        fork(
          Effect.exit(
            pool.analyze({
              sessionKey: id,
              seq: job.frame.seq,
              capturedAt: job.frame.capturedAt,
              image: job.frame.image,
              affectEnabled: info.affect,
              heatmap: job.planned && info.affect
            })
          ).pipe(
            Effect.flatMap((exit) =>
              Effect.sync(() => {
                job.exit = exit
                mailbox.offerInternal(ANALYZED)
              })
            )
          )
        ),
      analyzed: (job, analysis) => {
        core.frameAnalyzed(analysis, job.planned, now, out)
        dispatch(socketRequester, job, analysis)
      },
      slowDown: (to) => sink.slowDown(to, now)
    })

    /** Carries out what a step of the core asked for. */
    const dispatch = (requester: Requester, job?: Arrival, analysis?: FrameAnalysis) => {
      for (const m of out.replies) (job?.origin ?? life.connection)?.send(m, false)
      const rows: Array<SessionWrite> = []
      for (const event of out.events) rows.push({ _tag: "Event", interviewId: id, event })
      for (const row of out.windows) rows.push({ _tag: "Window", interviewId: id, row })
      if (out.snapshot !== undefined) {
        lastSnapshot = out.snapshot
        rows.push({ _tag: "Snapshot", interviewId: id, version: out.snapshot.version, state: out.snapshot })
      }
      if (rows.length > 0) writes.write(id, rows)
      if (out.events.length > 0) sink.publishBulk(out.events)
      for (const step of out.ordered) commits.push(step, requester)
      if (job !== undefined) sink.keyframes(job, analysis, out.keyframes)
      out.clear()
    }

    const onMessage = (message: ActorMessage) => {
      switch (message._tag) {
        case "Analyzed":
          return flight.settle()
        case "Committed":
          return commits.committed(message.slot, message.failure)
        case "Tick":
          sink.measureArrivals(now)
          core.tick(now, out)
          dispatch(socketRequester)
          if (
            mailbox.size === 0 &&
            flight.size === 0 &&
            commits.size === 0 &&
            life.idleExpired(now, core.sessionStatus)
          ) {
            stats.passivations++
            life.requestStop("passivate", now)
          }
          return
        case "Shed":
          return sink.shed(message.arrival, now)
        case "Stop":
          return life.requestStop(message.reason, now)
        case "Attach":
          return life.attach(message.connection, (resumed) => announce(core, resumed), core.sessionStatus !== "waiting")
        case "Detach":
          return life.detach(message.connection, now)
      }
    }

    const onFrame = (arrival: Arrival) => {
      sink.arrived()
      if (core.acceptsFrames) return flight.start(arrival, core.planFrame(arrival.frame.capturedAt))
      stats.frameErrors++
      const waiting = core.sessionStatus === "waiting"
      arrival.origin.send(
        frameError(
          arrival.frame.seq,
          waiting ? "not_started" : "finished",
          waiting ? "send start before frames" : "the interview is finished"
        ),
        false
      )
    }

    const loop = Effect.gen(function* () {
      while (true) {
        now = yield* Clock.currentTimeMillis
        if (life.stopping) {
          if ((!mailbox.ready(true) && flight.size === 0) || now >= life.stopDeadline) return
        }
        const takesFrames = !core.acceptsFrames || flight.hasRoom
        if (!life.stopping) yield* mailbox.waitFor(takesFrames)
        else yield* Effect.timeoutOption(mailbox.waitFor(takesFrames), Math.max(1, life.stopDeadline - now))
        now = yield* Clock.currentTimeMillis
        const internal = mailbox.pollInternal()
        if (internal !== undefined) {
          onMessage(internal)
          continue
        }
        const control = mailbox.pollControl()
        if (control !== undefined) {
          stats.commands++
          core.command(control.command, now, out)
          dispatch(control.requester)
          continue
        }
        if (takesFrames) {
          const arrival = mailbox.pollFrame()
          if (arrival !== undefined) onFrame(arrival)
        }
      }
    })

    const restart = (cause: Parameters<Parameters<typeof supervise>[1]>[0]) =>
      Effect.gen(function* () {
        stats.restarts++
        yield* FiberSet.clear(work)
        flight.clear()
        out.clear()
        if (!budget.take(yield* Clock.currentTimeMillis)) {
          yield* Effect.logError(`session ${id} failed ${budget.recent} times; stopping it`, cause)
          life.send({ _tag: "error", code: "internal", message: "the session failed; reconnect to resume" }, true)
          life.stopReason = "failed"
          return false
        }
        yield* Effect.logError(`session ${id} failed; restarting from its last snapshot`, cause)
        const maxEventSeq = core.eventSequence
        core = newCore(
          lastSnapshot === undefined
            ? { ...restore, maxEventSeq }
            : { snapshot: lastSnapshot, maxEventSeq, answers: restore.answers }
        )
        life.send(announce(core, true), true)
        return true
      })

    /** Commands still queued when the session stops were not taken: their callers may ask a new actor. */
    const refuseControl = () => {
      const control = mailbox.pollControl()
      if (control?.requester._tag === "Caller")
        control.requester.reply({ messages: [], committed: false, notTaken: true })
      return control !== undefined
    }

    /** The last steps: a final snapshot (unless failed or erased), pending commits delivered, the socket closed. */
    const finish = Effect.gen(function* () {
      const reason = life.stopReason
      now = yield* Clock.currentTimeMillis
      if (reason === "erased") {
        commits.abandon(erasedMessage)
        life.send(erasedMessage, true)
        life.close(CloseCodes.erased, "interview erased")
      } else {
        if (reason !== "failed") {
          core.stop(now, out)
          dispatch(socketRequester)
        }
        // Commits still pending are waited for, so their acknowledgements go out before the socket closes.
        const deadline = now + settings.writeBehind.shutdownTimeoutMs
        while (commits.size > 0 && now < deadline) {
          yield* Effect.timeoutOption(mailbox.waitFor(false), Math.max(1, deadline - now))
          now = yield* Clock.currentTimeMillis
          const message = mailbox.pollInternal()
          if (message?._tag === "Committed") commits.committed(message.slot, message.failure)
          else if (message === undefined) refuseControl()
        }
        commits.abandon({ _tag: "error", code: "unavailable", message: "the session stopped; retry" })
        if (reason === "shutdown") life.close(CloseCodes.goingAway, "server is shutting down")
        else if (reason === "failed") life.close(CloseCodes.internal, "session failed")
        else life.close(CloseCodes.normal, "session ended")
      }
      while (refuseControl()) {}
      yield* FiberSet.clear(work)
      yield* FiberSet.clear(commitFibers)
      yield* pool.forget(id)
    })

    sink.announceLive(core)
    stats.active++
    const fiber = yield* Effect.forkScoped(
      Effect.andThen(supervise(loop, restart), (result) => (result === "interrupted" ? Effect.void : finish))
    )
    // An observer, not a finaliser inside the fiber: it also runs when the fiber is interrupted before it starts.
    fiber.addObserver(() => {
      terminated = true
      stats.active--
      Deferred.doneUnsafe(stopped, Effect.void)
    })
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.andThen(
          Effect.sleep(settings.tickMs),
          Effect.sync(() => mailbox.offerInternal(TICK))
        )
      )
    )
    return makeHandle(id, mailbox, stats, {
      finished: () => core.sessionStatus === "finished",
      closed: () => life.stopping || terminated,
      terminated: () => terminated,
      stopped
    })
  })

const erasedMessage: ServerMessage = { _tag: "error", code: "erased", message: "the interview was erased" }
