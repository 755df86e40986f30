/** What a SessionActor's mailbox carries (internal messages, commands, frames), and what the actor needs to run. */
import type { SessionMessage } from "../../schemas/Protocol.ts"
import type { InferencePoolShape } from "../inference/InferencePool.ts"
import type { KeyframeSinkShape } from "../pipeline/KeyframeSink.ts"
import type { LiveSinkShape } from "../pipeline/LiveSink.ts"
import type { WriteBehindShape, WriteRejected } from "../store/WriteBehind.ts"
import type { Requester } from "./CommitQueue.ts"
import type { Arrival, CandidateConnection } from "./FrameFlight.ts"
import type { Mailbox } from "./Mailbox.ts"
import type { SessionSettings } from "./SessionConfig.ts"
import type { CoreCommand, SessionCore } from "./SessionCore.ts"
import type { StopReason } from "./SessionLifecycle.ts"
import type { SessionStats } from "./SessionStats.ts"

export interface ActorDeps {
  readonly pool: InferencePoolShape
  readonly writes: WriteBehindShape
  readonly live: LiveSinkShape
  readonly keyframes: KeyframeSinkShape
  readonly settings: SessionSettings
  readonly stats: SessionStats
  readonly newId: () => string
}

/**
 * Internal messages: socket events, completions of work the actor started (analyses, commits), time passing, a
 * frame shed from the full queue, and a request to stop. Never refused; each is bounded by what causes it.
 */
export type ActorMessage =
  | { readonly _tag: "Attach"; readonly connection: CandidateConnection }
  | { readonly _tag: "Detach"; readonly connection: CandidateConnection }
  | { readonly _tag: "Analyzed" }
  | { readonly _tag: "Committed"; readonly slot: number; readonly failure: WriteRejected | undefined }
  | { readonly _tag: "Tick" }
  | { readonly _tag: "Shed"; readonly arrival: Arrival }
  | { readonly _tag: "Stop"; readonly reason: StopReason }

/** A command waiting in the control queue, and who waits for its outcome. */
export interface ControlMessage {
  readonly command: CoreCommand
  readonly requester: Requester
}

/** A session's mailbox: internal messages first, then commands, then frames. */
export type ActorMailbox = Mailbox<ActorMessage, ControlMessage, Arrival>

/** The `session` message a (re)joining socket gets. */
export const sessionAnnouncer =
  (settings: Pick<SessionSettings, "maxFps">) =>
  (core: SessionCore, resumed: boolean): SessionMessage =>
    core.sessionMessage(settings.maxFps, resumed)
