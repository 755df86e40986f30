/**
 * Control outcomes in command order. A step that changes the interview is committed (durably, through the
 * write-behind buffer) before its acknowledgements go out; a reply that needs no commit waits behind earlier
 * commits, so whoever asked sees outcomes in the order the commands came. Commits complete through the actor's
 * mailbox (`committed`), so only the actor's fiber ever touches this queue.
 *
 * Who asked decides where an outcome goes: the candidate socket gets the outcomes of its own commands; a caller
 * (an HTTP request) gets its outcome back, and the socket also sees what it changed (`answerSaved`, `finished`)
 * but not the caller's refusals.
 */
import type { ServerMessage } from "../../schemas/Protocol.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import type { WriteRejected } from "../store/WriteBehind.ts"
import type { OrderedStep } from "./Outbox.ts"

export interface CommandOutcome {
  readonly messages: ReadonlyArray<ServerMessage>
  /** Whether the command changed the interview (its rows are committed); false for a repeat or a refusal. */
  readonly committed: boolean
  /** The actor stopped before it took the command: nothing happened, and a new actor may be asked. */
  readonly notTaken?: true
}

/** Who sent a command: the candidate's socket, or a caller waiting for the outcome. */
export type Requester =
  | { readonly _tag: "Socket" }
  | { readonly _tag: "Caller"; readonly reply: (outcome: CommandOutcome) => void }

export const socketRequester: Requester = { _tag: "Socket" }

interface Slot {
  readonly id: number
  ready: boolean
  readonly messages: ReadonlyArray<ServerMessage>
  readonly events: ReadonlyArray<ScoreEvent>
  readonly close: boolean
  readonly committed: boolean
  readonly requester: Requester
  failure: WriteRejected | undefined
}

/** The actor's side of the queue: the socket, the live view, and the write-behind buffer. */
export interface CommitSink {
  /** To the candidate socket, if one is attached. */
  readonly send: (message: ServerMessage) => void
  /** The interview is over: the socket is closed normally after the last acknowledgement. */
  readonly finished: () => void
  /** Events that became part of the record: published live and shown to the candidate. */
  readonly publish: (events: ReadonlyArray<ScoreEvent>) => void
  /** A commit was refused: the session cannot go on. */
  readonly failed: (failure: WriteRejected) => void
  /** Starts committing `rows`; the actor calls `committed(id, …)` when that is done. */
  readonly commit: (id: number, rows: ReadonlyArray<SessionWrite>) => void
}

export class CommitQueue {
  private readonly slots: Array<Slot> = []
  private nextId = 1

  constructor(
    private readonly interviewId: string,
    private readonly sink: CommitSink
  ) {}

  /** Commits not yet delivered. */
  get size(): number {
    return this.slots.length
  }

  /** Takes one step of the core's outcome for a command from `requester`. */
  push(step: OrderedStep, requester: Requester) {
    if (step._tag === "Reply") {
      const slot = this.slot(requester, [step.message], [], false, false)
      slot.ready = true
      this.slots.push(slot)
      return this.deliver()
    }
    const slot = this.slot(requester, step.acks, step.events, step.close, true)
    this.slots.push(slot)
    const rows: Array<SessionWrite> = [...step.writes]
    for (const event of step.events) rows.push({ _tag: "Event", interviewId: this.interviewId, event })
    this.sink.commit(slot.id, rows)
  }

  /** A commit started by `sink.commit` is done. */
  committed(id: number, failure: WriteRejected | undefined): void {
    const slot = this.slots.find((s) => s.id === id)
    if (slot === undefined) return
    slot.ready = true
    slot.failure = failure
    this.deliver()
  }

  /** The session stops without its pending commits: every caller still waiting is told `message`. */
  abandon(message: ServerMessage): void {
    for (const slot of this.slots.splice(0)) {
      if (slot.requester._tag === "Caller") slot.requester.reply({ messages: [message], committed: false })
    }
  }

  private slot(
    requester: Requester,
    messages: ReadonlyArray<ServerMessage>,
    events: ReadonlyArray<ScoreEvent>,
    close: boolean,
    committed: boolean
  ): Slot {
    return { id: this.nextId++, ready: false, messages, events, close, committed, requester, failure: undefined }
  }

  private deliver(): void {
    while (this.slots.length > 0 && this.slots[0]!.ready) {
      const slot = this.slots.shift()!
      if (slot.failure !== undefined) {
        const error: ServerMessage = { _tag: "error", code: "write_failed", message: slot.failure.message }
        if (slot.requester._tag === "Caller") slot.requester.reply({ messages: [error], committed: false })
        this.sink.failed(slot.failure)
        continue
      }
      if (slot.events.length > 0) this.sink.publish(slot.events)
      if (slot.requester._tag === "Caller") {
        slot.requester.reply({ messages: slot.messages, committed: slot.committed })
        for (const m of slot.messages) if (m._tag !== "error") this.sink.send(m)
      } else {
        for (const m of slot.messages) this.sink.send(m)
      }
      if (slot.close) this.sink.finished()
    }
  }
}
