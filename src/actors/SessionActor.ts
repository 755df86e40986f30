/**
 * One interview's actor: a fiber that owns the interview's `SessionCore` and is the only thing that touches it.
 * It takes messages from a bounded `Mailbox` (internal first, then candidate commands, then frames), sends
 * frames to the inference pool (a few in flight, results applied in frame order), and turns each step's
 * `Outbox` into I/O: replies to the candidate's socket, rows for the write-behind buffer, events for the live
 * view, keyframes for the media store.
 *
 * Commands that change the interview are acknowledged only after their rows are committed, and in the order the
 * commands came, while frames keep flowing. A defect restarts the core from its last snapshot (the socket stays
 * open and gets a fresh `session` message); more than `maxRestarts` within `restartWindowMs` stops the actor.
 * Without a socket for `passivateAfterMs` the actor stops; on stop it analyses the frames it accepted, commits
 * a final snapshot and waits for its commits before closing the socket.
 */
import { Cause, Deferred, Effect, Exit, FiberSet, Option, type Scope } from "effect"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { CloseCodes, type ErrorCode, type ServerMessage, type SessionCommand } from "../../schemas/Protocol.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import type { AnalyzeError } from "../inference/InferenceErrors.ts"
import type { InferencePoolShape } from "../inference/InferencePool.ts"
import type { IncomingFrame } from "../pipeline/FrameProtocol.ts"
import type { KeyframeSinkShape } from "../pipeline/KeyframeSink.ts"
import type { LiveSinkShape } from "../pipeline/LiveSink.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import type { WriteBehindShape, WriteRejected } from "../store/WriteBehind.ts"
import { Mailbox } from "./Mailbox.ts"
import type { SessionSettings } from "./SessionConfig.ts"
import { type OrderedStep, Outbox, type RestorePoint, SessionCore, type SessionInfo } from "./SessionCore.ts"
import type { SessionSnapshot } from "./SessionMessages.ts"
import type { SessionStats } from "./SessionStats.ts"

/** The actor's view of a candidate socket. */
export interface CandidateConnection {
  readonly id: number
  /** Optional messages (`essential` false) may be skipped while the client is not reading; essential ones never. */
  readonly send: (message: ServerMessage, essential: boolean) => void
  readonly close: (code: number, reason: string) => void
}

export type StopReason = "passivate" | "shutdown" | "failed"

/** How sockets talk to a running actor. Every method returns at once. */
export interface SessionHandle {
  readonly interviewId: string
  readonly finished: () => boolean
  /** Stopping or stopped: a new actor must be started for this interview. */
  readonly closed: () => boolean
  /** Makes `connection` the interview's socket; a previous one is told `replaced` and closed. */
  readonly attach: (connection: CandidateConnection) => void
  readonly detach: (connection: CandidateConnection) => void
  /** Queues a command; false when the control queue is full (the caller disconnects the flooding client). */
  readonly command: (command: SessionCommand) => boolean
  /** Queues a frame; the oldest queued frame is shed (and answered `frame_shed`) when the queue is full. */
  readonly frame: (connection: CandidateConnection, frame: IncomingFrame) => void
  /** Asks the actor to stop and waits until it has. */
  readonly stop: (reason: StopReason) => Effect.Effect<void>
  /** Completes when the actor has stopped. */
  readonly done: Effect.Effect<void>
}

export interface ActorDeps {
  readonly pool: InferencePoolShape
  readonly writes: WriteBehindShape
  readonly live: LiveSinkShape
  readonly keyframes: KeyframeSinkShape
  readonly settings: SessionSettings
  readonly stats: SessionStats
  readonly newId: () => string
}

type Internal =
  | { readonly _tag: "Attach"; readonly connection: CandidateConnection }
  | { readonly _tag: "Detach"; readonly connection: CandidateConnection }
  | { readonly _tag: "Analyzed" }
  | { readonly _tag: "Tick" }
  | { readonly _tag: "Stop"; readonly reason: StopReason }

/** A frame and the socket it came on: its reply goes there, even if another socket has taken over since. */
interface Arrival {
  readonly frame: IncomingFrame
  readonly origin: CandidateConnection
}

interface Job {
  readonly frame: IncomingFrame
  readonly origin: CandidateConnection
  readonly planned: boolean
  exit: Exit.Exit<FrameAnalysis, AnalyzeError> | undefined
  retried: boolean
}

interface Slot {
  ready: boolean
  readonly messages: ReadonlyArray<ServerMessage>
  readonly events: ReadonlyArray<ScoreEvent>
  readonly close: boolean
  failure: WriteRejected | undefined
}

/** Events the candidate sees as `score` (lifecycle steps reach it as `question`, `answerSaved`, `finished`). */
const signalTags: ReadonlySet<ScoreEvent["_tag"]> = new Set(["attention", "emotion", "blink", "questionSummary"])

const ANALYZED: Internal = { _tag: "Analyzed" }
const TICK: Internal = { _tag: "Tick" }

const frameError = (seq: number, code: ErrorCode, message: string): ServerMessage => ({
  _tag: "error",
  code,
  message,
  seq
})

/** Starts the actor in the current scope (closing the scope interrupts it without flushing; use `stop`). */
export const start = (
  info: SessionInfo,
  restore: RestorePoint,
  deps: ActorDeps
): Effect.Effect<SessionHandle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { settings, stats, pool, writes, live, keyframes } = deps
    const id = info.interviewId
    const coreSettings = {
      maxFps: settings.maxFps,
      snapshotEveryMs: settings.snapshotEveryMs,
      scorer: settings.scorer,
      keyframes: settings.keyframes
    }
    const mailbox = new Mailbox<Internal, SessionCommand, Arrival>(settings.mailboxControl, settings.mailboxFrames)
    let core = new SessionCore(info, coreSettings, restore, deps.newId)
    let lastSnapshot: SessionSnapshot | undefined = restore.snapshot
    const out = new Outbox()
    let connection: CandidateConnection | undefined
    let everConnected = false
    let idleSince = Date.now()
    let stopReason: StopReason | undefined
    let stopDeadline = 0
    let terminated = false
    const inFlight: Array<Job> = []
    const ordered: Array<Slot> = []
    const restarts: Array<number> = []
    let lastSlowDownAt = 0
    let arrivals = 0
    let arrivalRate = 0
    let lastRateAt = Date.now()
    const stopped = Deferred.makeUnsafe<void>()

    const analyses = yield* FiberSet.make()
    const runAnalysis = yield* FiberSet.runtime(analyses)()
    const commits = yield* FiberSet.make()
    const runCommit = yield* FiberSet.runtime(commits)()

    const send = (message: ServerMessage, essential: boolean) => connection?.send(message, essential)

    const slowDown = (to: CandidateConnection | undefined) => {
      const now = Date.now()
      if (to === undefined || now - lastSlowDownAt < settings.slowDownEveryMs) return
      lastSlowDownAt = now
      const maxFps = Math.max(1, Math.min(settings.maxFps, Math.floor(arrivalRate * 0.6)))
      to.send({ _tag: "slowDown", maxFps }, true)
    }

    // Ordered control outcomes: replies wait behind earlier commits, so a client sees them in command order.
    const deliver = () => {
      while (ordered.length > 0 && ordered[0]!.ready) {
        const slot = ordered.shift()!
        if (slot.failure !== undefined) {
          send({ _tag: "error", code: "write_failed", message: slot.failure.message }, true)
          connection?.close(CloseCodes.internal, "interview no longer available")
          requestStop("failed")
          continue
        }
        if (slot.events.length > 0) {
          live.publish(id, slot.events)
          for (const e of slot.events) if (signalTags.has(e._tag)) send({ _tag: "score", event: e }, false)
        }
        for (const m of slot.messages) send(m, true)
        if (slot.close) connection?.close(CloseCodes.normal, "interview finished")
      }
    }

    const pushOrdered = (step: OrderedStep) => {
      if (step._tag === "Reply") {
        if (ordered.length === 0) send(step.message, true)
        else ordered.push({ ready: true, messages: [step.message], events: [], close: false, failure: undefined })
        return
      }
      const slot: Slot = {
        ready: false,
        messages: step.acks,
        events: step.events,
        close: step.close,
        failure: undefined
      }
      ordered.push(slot)
      const rows: Array<SessionWrite> = [...step.writes]
      for (const w of step.writes) if (w._tag === "Snapshot") lastSnapshot = w.state as SessionSnapshot
      for (const event of step.events) rows.push({ _tag: "Event", interviewId: id, event })
      const committed = writes.submitDurable(id, rows)
      const settle = (exit: Exit.Exit<void, WriteRejected>) => {
        slot.ready = true
        if (Exit.isFailure(exit)) slot.failure = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
        deliver()
      }
      runCommit(Effect.exit(committed).pipe(Effect.flatMap((exit) => Effect.sync(() => settle(exit)))))
    }

    /** Carries out what a step of the core asked for. */
    const dispatch = (job?: Job, analysis?: FrameAnalysis) => {
      for (const m of out.replies) (job?.origin ?? connection)?.send(m, false)
      if (out.events.length > 0 || out.windows.length > 0 || out.snapshot !== undefined) {
        const rows: Array<SessionWrite> = []
        for (const event of out.events) rows.push({ _tag: "Event", interviewId: id, event })
        for (const row of out.windows) rows.push({ _tag: "Window", interviewId: id, row })
        if (out.snapshot !== undefined) {
          lastSnapshot = out.snapshot
          rows.push({ _tag: "Snapshot", interviewId: id, version: out.snapshot.version, state: out.snapshot })
        }
        writes.write(id, rows)
      }
      if (out.events.length > 0) {
        live.publish(id, out.events)
        for (const event of out.events) send({ _tag: "score", event }, false)
      }
      for (const step of out.ordered) pushOrdered(step)
      if (job !== undefined) {
        for (const k of out.keyframes) {
          keyframes.submit({
            interviewId: id,
            seq: k.seq,
            capturedAt: job.frame.capturedAt,
            reason: k.reason,
            image: job.frame.image,
            heatmap: analysis?.heatmap?.png,
            wantHeatmap: info.affect
          })
        }
      }
      out.clear()
    }

    const analyzed = (job: Job, exit: Exit.Exit<FrameAnalysis, AnalyzeError>) => {
      job.exit = exit
      mailbox.offerInternal(ANALYZED)
    }

    const analyze = (job: Job) => {
      runAnalysis(
        Effect.exit(
          pool.analyze({
            sessionKey: id,
            seq: job.frame.seq,
            capturedAt: job.frame.capturedAt,
            image: job.frame.image,
            affectEnabled: info.affect,
            heatmap: job.planned && info.affect
          })
        ).pipe(Effect.flatMap((exit) => Effect.sync(() => analyzed(job, exit))))
      )
    }

    const applyResult = (job: Job) => {
      const exit = job.exit!
      if (Exit.isSuccess(exit)) {
        stats.framesAnalyzed++
        core.frameAnalyzed(exit.value, job.planned, Date.now(), out)
        dispatch(job, exit.value)
        return
      }
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isNone(error)) {
        if (Cause.hasInterruptsOnly(exit.cause)) return
        throw Cause.squash(exit.cause)
      }
      stats.frameErrors++
      const seq = job.frame.seq
      const reply = (code: ErrorCode, message: string) => job.origin.send(frameError(seq, code, message), false)
      switch (error.value._tag) {
        case "FrameRejected":
          return reply("bad_image", error.value.message)
        case "PoolSaturated":
          reply("overloaded", "analysis capacity is saturated; frame dropped")
          return slowDown(job.origin)
        case "WorkerCrashed":
          if (!job.retried) {
            job.retried = true
            job.exit = undefined
            inFlight.unshift(job)
            return analyze(job)
          }
          return reply("analysis_failed", "analysis failed twice on this frame")
        case "InferenceFailed":
          return reply("analysis_failed", error.value.message)
      }
    }

    /** Applies finished analyses in the order their frames were dispatched. */
    const settleFrames = () => {
      while (inFlight.length > 0 && inFlight[0]!.exit !== undefined) applyResult(inFlight.shift()!)
    }

    const onFrame = ({ frame, origin }: Arrival) => {
      if (!core.acceptsFrames) {
        stats.frameErrors++
        const waiting = core.sessionStatus === "waiting"
        origin.send(
          frameError(
            frame.seq,
            waiting ? "not_started" : "finished",
            waiting ? "send start before frames" : "the interview is finished"
          ),
          false
        )
        return
      }
      const job: Job = { frame, origin, planned: core.planFrame(frame.capturedAt), exit: undefined, retried: false }
      inFlight.push(job)
      analyze(job)
    }

    const requestStop = (reason: StopReason) => {
      if (stopReason !== undefined) return
      stopReason = reason
      stopDeadline = Date.now() + settings.drainTimeoutMs
    }

    const onTick = () => {
      const now = Date.now()
      const elapsed = (now - lastRateAt) / 1000
      if (elapsed > 0) arrivalRate = 0.5 * arrivalRate + 0.5 * (arrivals / elapsed)
      arrivals = 0
      lastRateAt = now
      core.tick(now, out)
      dispatch()
      if (stopReason !== undefined || connection !== undefined) return
      if (mailbox.size > 0 || inFlight.length > 0 || ordered.length > 0) return
      const linger = core.sessionStatus === "finished" ? settings.finishedLingerMs : settings.passivateAfterMs
      if (now - idleSince >= linger) {
        stats.passivations++
        requestStop("passivate")
      }
    }

    const onInternal = (message: Internal) => {
      switch (message._tag) {
        case "Analyzed":
          return settleFrames()
        case "Tick":
          return onTick()
        case "Stop":
          return requestStop(message.reason)
        case "Attach": {
          const next = message.connection
          if (stopReason !== undefined) return next.close(CloseCodes.tryAgainLater, "session is restarting; reconnect")
          if (connection !== undefined && connection !== next) {
            connection.send(
              { _tag: "error", code: "replaced", message: "another connection joined this interview" },
              true
            )
            connection.close(CloseCodes.replaced, "replaced by a newer connection")
          }
          connection = next
          next.send(core.sessionMessage(settings.maxFps, everConnected || core.sessionStatus !== "waiting"), true)
          everConnected = true
          return
        }
        case "Detach":
          if (connection === message.connection) {
            connection = undefined
            idleSince = Date.now()
          }
          return
      }
    }

    const loop = Effect.gen(function* () {
      while (true) {
        if (stopReason !== undefined) {
          const drained = !mailbox.ready(true) && inFlight.length === 0
          if (drained || Date.now() >= stopDeadline) return
        }
        const takesFrames = !core.acceptsFrames || inFlight.length < settings.inFlightFrames
        if (stopReason === undefined) yield* mailbox.waitFor(takesFrames)
        else yield* Effect.timeoutOption(mailbox.waitFor(takesFrames), Math.max(1, stopDeadline - Date.now()))
        const internal = mailbox.pollInternal()
        if (internal !== undefined) {
          onInternal(internal)
          continue
        }
        const command = mailbox.pollControl()
        if (command !== undefined) {
          stats.commands++
          core.command(command, Date.now(), out)
          dispatch()
          continue
        }
        if (takesFrames) {
          const arrival = mailbox.pollFrame()
          if (arrival !== undefined) onFrame(arrival)
        }
      }
    })

    const finish = Effect.gen(function* () {
      if (stopReason !== "failed") {
        core.stop(Date.now(), out)
        dispatch()
      }
      // Commits still pending are waited for, so their acknowledgements reach the socket before it closes.
      yield* FiberSet.awaitEmpty(commits).pipe(Effect.timeoutOption(settings.writeBehind.shutdownTimeoutMs))
      if (stopReason === "shutdown") connection?.close(CloseCodes.goingAway, "server is shutting down")
      else if (stopReason === "failed") connection?.close(CloseCodes.internal, "session failed")
      connection = undefined
      yield* FiberSet.clear(analyses)
      yield* pool.forget(id)
    })

    const supervised = Effect.gen(function* () {
      while (true) {
        const exit = yield* Effect.exit(loop)
        if (Exit.isSuccess(exit)) break
        // Interrupted: the scope is closing without a stop (the registry stops actors before that happens).
        if (Cause.hasInterruptsOnly(exit.cause)) return
        const now = Date.now()
        stats.restarts++
        restarts.push(now)
        while (restarts.length > 0 && now - restarts[0]! > settings.restartWindowMs) restarts.shift()
        yield* FiberSet.clear(analyses)
        inFlight.length = 0
        out.clear()
        if (restarts.length > settings.maxRestarts) {
          yield* Effect.logError(`session ${id} failed ${restarts.length} times; stopping it`, exit.cause)
          send({ _tag: "error", code: "internal", message: "the session failed; reconnect to resume" }, true)
          stopReason = "failed"
          break
        }
        yield* Effect.logError(`session ${id} failed; restarting from its last snapshot`, exit.cause)
        core = new SessionCore(
          info,
          coreSettings,
          lastSnapshot === undefined
            ? { ...restore, maxEventSeq: core.eventSequence }
            : { snapshot: lastSnapshot, maxEventSeq: core.eventSequence, answers: restore.answers },
          deps.newId
        )
        send(core.sessionMessage(settings.maxFps, true), true)
      }
      yield* finish
    })

    live.setFields(id, core.liveFields())
    stats.active++
    const fiber = yield* Effect.forkScoped(supervised)
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

    const handle: SessionHandle = {
      interviewId: id,
      finished: () => core.sessionStatus === "finished",
      closed: () => stopReason !== undefined || terminated,
      attach: (c) => mailbox.offerInternal({ _tag: "Attach", connection: c }),
      detach: (c) => mailbox.offerInternal({ _tag: "Detach", connection: c }),
      command: (c) => mailbox.offerControl(c),
      frame: (c, frame) => {
        stats.framesIn++
        arrivals++
        const shed = mailbox.offerFrame({ frame, origin: c })
        if (shed === undefined) return
        stats.framesShed++
        shed.origin.send(
          frameError(shed.frame.seq, "frame_shed", "session is behind; oldest queued frame dropped"),
          false
        )
        slowDown(c)
      },
      stop: (reason) =>
        Effect.suspend(() => {
          if (!terminated) mailbox.offerInternal({ _tag: "Stop", reason })
          return Deferred.await(stopped)
        }),
      done: Deferred.await(stopped)
    }
    return handle
  })
