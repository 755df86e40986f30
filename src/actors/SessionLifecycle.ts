/**
 * A session's connection and life: which socket is the candidate's (the newest wins), when the session has been
 * idle long enough to passivate, and why and until when it is stopping. Plain state, changed only on the actor's
 * fiber with the time it is given.
 */
import { CloseCodes, type ServerMessage, type SessionMessage, type SessionStatus } from "../../schemas/Protocol.ts"
import type { CandidateConnection } from "./FrameFlight.ts"
import type { SessionSettings } from "./SessionConfig.ts"

/** `erased`: the interview is being erased; nothing more is written for it. */
export type StopReason = "passivate" | "shutdown" | "failed" | "erased"

export class SessionLifecycle {
  connection: CandidateConnection | undefined
  private everConnected = false
  private idleSince: number
  stopReason: StopReason | undefined
  stopDeadline = 0

  constructor(
    private readonly settings: SessionSettings,
    now: number
  ) {
    this.idleSince = now
  }

  get stopping(): boolean {
    return this.stopReason !== undefined
  }

  send(message: ServerMessage, essential: boolean): void {
    this.connection?.send(message, essential)
  }

  /** Makes `next` the candidate's socket; a previous one is told `replaced` and closed. */
  attach(next: CandidateConnection, sessionMessage: (resumed: boolean) => SessionMessage, started: boolean) {
    if (this.stopping) return next.close(CloseCodes.tryAgainLater, "session is restarting; reconnect")
    const previous = this.connection
    if (previous !== undefined && previous !== next) {
      previous.send({ _tag: "error", code: "replaced", message: "another connection joined this interview" }, true)
      previous.close(CloseCodes.replaced, "replaced by a newer connection")
    }
    this.connection = next
    next.send(sessionMessage(this.everConnected || started), true)
    this.everConnected = true
  }

  detach(connection: CandidateConnection, now: number): void {
    if (this.connection !== connection) return
    this.connection = undefined
    this.idleSince = now
  }

  /** Closes the socket (if any) and forgets it. */
  close(code: number, reason: string): void {
    this.connection?.close(code, reason)
    this.connection = undefined
  }

  requestStop(reason: StopReason, now: number): void {
    if (this.stopReason !== undefined && reason !== "erased") return
    this.stopReason = reason
    this.stopDeadline = now + this.settings.drainTimeoutMs
  }

  /** Without a socket and with nothing left to do for long enough, the session passivates. */
  idleExpired(now: number, status: SessionStatus): boolean {
    if (this.stopping || this.connection !== undefined) return false
    const linger = status === "finished" ? this.settings.finishedLingerMs : this.settings.passivateAfterMs
    return now - this.idleSince >= linger
  }
}
