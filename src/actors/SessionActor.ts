/**
 * One interview's actor: a fiber that owns the interview's `SessionCore` and is the only writer of its session
 * state. Everything reaches it through its bounded `Mailbox` — socket events, candidate commands, answers and
 * finish over HTTP, frames — and everything it started comes back the same way (analyses, commits, ticks), so
 * every change happens on this one supervised fiber, with time from Effect's `Clock`.
 *
 * The parts: `ActorState` (the state and its parts, wired), `FrameFlight` (frames in flight to the inference pool,
 * applied in order), `CommitQueue` (outcomes acknowledged after commit, in command order), `ActorWork` (work off
 * the fiber), `Dispatch` (a step's outbox carried out), `SessionLifecycle` (the socket, passivation, stopping),
 * `Supervision` (a defect restarts the core from its last snapshot; too many stop the session) and `SessionStop`
 * (the last steps). This module starts the actor and runs its loop.
 */
import { Clock, Deferred, Effect, type Scope } from "effect"
import { type ActorDeps, type ActorMailbox, type ActorMessage, sessionAnnouncer } from "./ActorMessages.ts"
import { ActorState } from "./ActorState.ts"
import { makeWork } from "./ActorWork.ts"
import { socketRequester } from "./CommitQueue.ts"
import { dispatch } from "./Dispatch.ts"
import { type Arrival, frameError } from "./FrameFlight.ts"
import { Mailbox } from "./Mailbox.ts"
import { makeHandle, type SessionHandle } from "./SessionHandle.ts"
import type { SessionInfo } from "./SessionInfo.ts"
import { SessionLifecycle } from "./SessionLifecycle.ts"
import type { RestorePoint } from "./SessionState.ts"
import { finish } from "./SessionStop.ts"
import { RestartBudget, restartFromSnapshot, supervise } from "./Supervision.ts"

export type { ActorDeps } from "./ActorMessages.ts"
export type { CandidateConnection } from "./FrameFlight.ts"
export type { SessionHandle } from "./SessionHandle.ts"
export type { StopReason } from "./SessionLifecycle.ts"

const TICK: ActorMessage = { _tag: "Tick" }

/** Starts the actor in the current scope (closing the scope interrupts it without flushing; use `stop`). */
export const start = (
  info: SessionInfo,
  restore: RestorePoint,
  deps: ActorDeps
): Effect.Effect<SessionHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { settings, stats } = deps
    const mailbox: ActorMailbox = new Mailbox(settings.mailboxControl, settings.mailboxFrames)
    const startedAt = yield* Clock.currentTimeMillis
    const life = new SessionLifecycle(settings, startedAt)
    const s = new ActorState(info, restore, deps, mailbox, life, yield* makeWork(info, deps, mailbox), startedAt)
    const { commits, flight, sink } = s
    const budget = new RestartBudget(settings.maxRestarts, settings.restartWindowMs)
    const announce = sessionAnnouncer(settings)
    const stopped = Deferred.makeUnsafe<void>()
    let terminated = false

    const onMessage = (message: ActorMessage) => {
      switch (message._tag) {
        case "Analyzed":
          return flight.settle()
        case "Committed":
          return commits.committed(message.slot, message.failure)
        case "Tick":
          sink.measureArrivals(s.now)
          s.core.tick(s.now, s.out)
          dispatch(s, socketRequester)
          if (
            mailbox.size === 0 &&
            flight.size === 0 &&
            commits.size === 0 &&
            life.idleExpired(s.now, s.core.sessionStatus)
          ) {
            stats.passivations++
            life.requestStop("passivate", s.now)
          }
          return
        case "Shed":
          return sink.shed(message.arrival, s.now)
        case "Stop":
          return life.requestStop(message.reason, s.now)
        case "Attach":
          return life.attach(
            message.connection,
            (resumed) => announce(s.core, resumed),
            s.core.sessionStatus !== "waiting"
          )
        case "Detach":
          return life.detach(message.connection, s.now)
      }
    }

    const onFrame = (arrival: Arrival) => {
      sink.arrived()
      const consent = s.core.consent
      if (s.core.acceptsFrames && consent.processing) {
        // Before `start` a frame is analysed for the camera check only: no keyframe is planned for it.
        const at = arrival.frame.capturedAt
        const planned = s.core.scoresFrames && s.core.planFrame(at)
        const bar = !planned && s.core.scoresFrames && consent.affect ? s.core.expressionBar(at) : undefined
        return flight.start(arrival, planned, consent.affect, bar)
      }
      stats.frameErrors++
      if (!consent.processing) {
        const refusal = "the candidate has not consented to data processing"
        return arrival.origin.send(frameError(arrival.frame.seq, "consent_required", refusal), false)
      }
      arrival.origin.send(frameError(arrival.frame.seq, "finished", "the interview is finished"), false)
    }

    // The clock is read directly: the loop yields only to wait, and takes every message that is ready meanwhile.
    const clock = yield* Clock.Clock
    const loop = Effect.gen(function* () {
      while (true) {
        s.now = clock.currentTimeMillisUnsafe()
        // An erased interview's actor takes nothing more: whatever it would still write is dropped anyway.
        if (life.stopReason === "erased") return
        if (life.stopping) {
          if ((!mailbox.ready(true) && flight.size === 0) || s.now >= life.stopDeadline) return
        }
        const takesFrames = !s.core.acceptsFrames || flight.hasRoom
        if (!mailbox.ready(takesFrames)) {
          if (!life.stopping) yield* mailbox.waitFor(takesFrames)
          else yield* Effect.timeoutOption(mailbox.waitFor(takesFrames), Math.max(1, life.stopDeadline - s.now))
          s.now = clock.currentTimeMillisUnsafe()
        }
        const internal = mailbox.pollInternal()
        if (internal !== undefined) {
          onMessage(internal)
          continue
        }
        const control = mailbox.pollControl()
        if (control !== undefined) {
          stats.commands++
          // The scheduler's abandon loses to a candidate who is here after all.
          if (control.command._tag === "abandon" && life.connection !== undefined)
            s.out.refuse("busy", "a candidate socket is open")
          else s.core.command(control.command, s.now, s.out)
          dispatch(s, control.requester)
          continue
        }
        if (takesFrames) {
          const arrival = mailbox.pollFrame()
          if (arrival !== undefined) onFrame(arrival)
        }
      }
    })

    sink.announceLive(s.core)
    stats.active++
    const fiber = yield* Effect.forkScoped(
      Effect.andThen(supervise(loop, restartFromSnapshot(s, budget)), (result) =>
        result === "interrupted" ? Effect.void : finish(s)
      )
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
    return makeHandle(info.interviewId, mailbox, stats, {
      finished: () => s.core.sessionStatus === "finished",
      closed: () => life.stopping || terminated,
      terminated: () => terminated,
      stopped
    })
  })
