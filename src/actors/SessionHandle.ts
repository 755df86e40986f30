/**
 * How the rest of the engine talks to a running SessionActor: every method only puts a message in its mailbox (or
 * waits for an outcome), so the actor stays the only writer of its interview's session state.
 */
import { Deferred, Effect } from "effect"
import type { SessionCommand } from "../../schemas/Protocol.ts"
import type { IncomingFrame } from "../pipeline/FrameProtocol.ts"
import type { ActorMailbox } from "./ActorMessages.ts"
import type { CommandOutcome } from "./CommitQueue.ts"
import { socketRequester } from "./CommitQueue.ts"
import type { CandidateConnection } from "./FrameFlight.ts"
import type { CoreCommand } from "./SessionCore.ts"
import type { StopReason } from "./SessionLifecycle.ts"
import type { SessionStats } from "./SessionStats.ts"

export interface SessionHandle {
  readonly interviewId: string
  readonly finished: () => boolean
  /** Stopping or stopped: a new actor must be started for this interview. */
  readonly closed: () => boolean
  /** Makes `connection` the interview's socket; a previous one is told `replaced` and closed. */
  readonly attach: (connection: CandidateConnection) => void
  readonly detach: (connection: CandidateConnection) => void
  /** Queues a socket command; false when the control queue is full (the caller disconnects the flooding client). */
  readonly command: (command: SessionCommand) => boolean
  /**
   * Sends a command on behalf of a caller (an HTTP request) and waits for its outcome: acknowledged after commit,
   * in order with the socket's commands. `busy` when the control queue is full.
   */
  readonly ask: (command: CoreCommand) => Effect.Effect<CommandOutcome | "busy">
  /** Queues a frame; the oldest queued frame is shed (and answered `frame_shed`) when the queue is full. */
  readonly frame: (connection: CandidateConnection, frame: IncomingFrame) => void
  /** Asks the actor to stop and waits until it has. */
  readonly stop: (reason: StopReason) => Effect.Effect<void>
  /** Completes when the actor has stopped. */
  readonly done: Effect.Effect<void>
}

const notTaken: CommandOutcome = { messages: [], committed: false, notTaken: true }

export interface HandleState {
  readonly finished: () => boolean
  readonly closed: () => boolean
  readonly terminated: () => boolean
  readonly stopped: Deferred.Deferred<void>
}

export const makeHandle = (
  interviewId: string,
  mailbox: ActorMailbox,
  stats: SessionStats,
  state: HandleState
): SessionHandle => ({
  interviewId,
  finished: state.finished,
  closed: state.closed,
  attach: (connection) => mailbox.offerInternal({ _tag: "Attach", connection }),
  detach: (connection) => mailbox.offerInternal({ _tag: "Detach", connection }),
  command: (command) => mailbox.offerControl({ command, requester: socketRequester }),
  ask: (command) =>
    Effect.suspend((): Effect.Effect<CommandOutcome | "busy"> => {
      if (state.closed()) return Effect.succeed(notTaken)
      const outcome = Deferred.makeUnsafe<CommandOutcome>()
      const reply = (o: CommandOutcome) => Deferred.doneUnsafe(outcome, Effect.succeed(o))
      if (!mailbox.offerControl({ command, requester: { _tag: "Caller", reply } }))
        return Effect.succeed("busy" as const)
      // The actor answers every command it took; one still queued when it stopped was not taken.
      return Effect.raceFirst(Deferred.await(outcome), Effect.as(Deferred.await(state.stopped), notTaken))
    }),
  frame: (origin, frame) => {
    stats.framesIn++
    const shed = mailbox.offerFrame({ frame, origin })
    if (shed !== undefined) mailbox.offerInternal({ _tag: "Shed", arrival: shed })
  },
  stop: (reason) =>
    Effect.suspend(() => {
      if (!state.terminated()) mailbox.offerInternal({ _tag: "Stop", reason })
      return Deferred.await(state.stopped)
    }),
  done: Deferred.await(state.stopped)
})
