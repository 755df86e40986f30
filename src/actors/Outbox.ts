/**
 * What one step of a `SessionCore` asks its actor to do, written by the core and carried out by the actor: the
 * core stays free of I/O, and the actor does the I/O in one place after each step.
 */
import type { ErrorCode, ServerMessage } from "../../schemas/Protocol.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import type { KeyframeReason } from "../pipeline/KeyframePolicy.ts"
import type { ScoreWindowRow, SessionWrite } from "../store/SessionWrites.ts"
import type { SessionSnapshot } from "./SessionMessages.ts"

/** A control outcome, delivered in the order of the commands that caused it. */
export type OrderedStep =
  | { readonly _tag: "Reply"; readonly message: ServerMessage }
  | {
      readonly _tag: "Commit"
      /** Rows to commit before anything else of this step happens. */
      readonly writes: ReadonlyArray<SessionWrite>
      /** Events that are part of the commit, published once it is done. */
      readonly events: ReadonlyArray<ScoreEvent>
      /** Replies sent once committed. */
      readonly acks: ReadonlyArray<ServerMessage>
      /** Close the candidate's socket normally after the acks (the interview is over). */
      readonly close: boolean
    }

/** A frame the keyframe policy wants kept, and why. */
export interface KeyframeRequest {
  readonly seq: number
  readonly reason: KeyframeReason
}

/** What one step asks the actor to do. Reused between steps: the hot path allocates no new outbox. */
export class Outbox {
  /** Sent at once: analyses and frame errors. */
  readonly replies: Array<ServerMessage> = []
  readonly ordered: Array<OrderedStep> = []
  /** Bulk events: written behind, published live, shown to the candidate as `score`. */
  readonly events: Array<ScoreEvent> = []
  readonly windows: Array<ScoreWindowRow> = []
  readonly keyframes: Array<KeyframeRequest> = []
  /** A periodic snapshot to write behind. */
  snapshot: SessionSnapshot | undefined = undefined

  /** An outcome that needs no commit, delivered in order with the commands before it. */
  reply(message: ServerMessage): void {
    this.ordered.push({ _tag: "Reply", message })
  }

  /** A command refused: an `error` reply, in order like any other. */
  refuse(code: ErrorCode, message: string): void {
    this.reply({ _tag: "error", code, message })
  }

  clear(): void {
    this.replies.length = 0
    this.ordered.length = 0
    this.events.length = 0
    this.windows.length = 0
    this.keyframes.length = 0
    this.snapshot = undefined
  }

  isEmpty(): boolean {
    return (
      this.replies.length === 0 &&
      this.ordered.length === 0 &&
      this.events.length === 0 &&
      this.windows.length === 0 &&
      this.keyframes.length === 0 &&
      this.snapshot === undefined
    )
  }
}
