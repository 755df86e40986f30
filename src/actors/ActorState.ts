/**
 * One SessionActor's state and the parts that act on it, wired together: the core and its outbox, the socket's
 * lifecycle, the sink, frames in flight, the commit queue and the work started off the fiber. One object, handed
 * to the steps that live in their own modules (dispatch, restart, stop) instead of many closures; only the actor's
 * fiber changes it.
 */
import { CloseCodes } from "../../schemas/Protocol.ts"
import type { ActorDeps, ActorMailbox } from "./ActorMessages.ts"
import type { ActorWork } from "./ActorWork.ts"
import { CommitQueue, socketRequester } from "./CommitQueue.ts"
import { dispatch } from "./Dispatch.ts"
import { FrameFlight } from "./FrameFlight.ts"
import { Outbox } from "./Outbox.ts"
import { SessionCore } from "./SessionCore.ts"
import type { SessionInfo } from "./SessionInfo.ts"
import type { SessionLifecycle } from "./SessionLifecycle.ts"
import type { SessionSnapshot } from "./SessionMessages.ts"
import { makeSink, type SessionSink } from "./SessionSink.ts"
import type { RestorePoint } from "./SessionState.ts"

/** The actor's state and parts, wired once when the actor starts. */
export class ActorState {
  /** The time of the step under way, read from Effect's `Clock` by the actor. */
  now = 0
  /** Filled by each step of the core, emptied by `dispatch`. */
  readonly out = new Outbox()
  /** Replaced when the actor restarts. */
  core: SessionCore
  /** The newest snapshot handed to the store: a restart resumes from it. */
  lastSnapshot: SessionSnapshot | undefined
  readonly sink: SessionSink
  readonly commits: CommitQueue
  readonly flight: FrameFlight

  constructor(
    readonly info: SessionInfo,
    /** Where the session started from; a restart before any snapshot of its own goes back to it. */
    readonly restore: RestorePoint,
    readonly deps: ActorDeps,
    readonly mailbox: ActorMailbox,
    readonly life: SessionLifecycle,
    readonly work: ActorWork,
    /** When the actor started (its clock's time): the first step's time until the loop reads its own. */
    startedAt: number
  ) {
    this.now = startedAt
    const { settings, stats } = deps
    this.core = this.newCore(restore)
    this.lastSnapshot = restore.snapshot
    this.sink = makeSink(info, deps, life, () => this.now)
    this.commits = new CommitQueue(info.interviewId, {
      send: (m) => life.send(m, true),
      finished: () => life.close(CloseCodes.normal, "interview finished"),
      publish: this.sink.publishCommitted,
      failed: (failure) => {
        life.send({ _tag: "error", code: "write_failed", message: failure.message }, true)
        life.close(CloseCodes.internal, "interview no longer available")
        life.requestStop("failed", this.now)
      },
      commit: (slot, rows) => {
        for (const w of rows) if (w._tag === "Snapshot") this.lastSnapshot = w.state as SessionSnapshot
        work.commit(slot, rows)
      }
    })
    this.flight = new FrameFlight(settings.inFlightFrames, stats, {
      analyze: work.analyze,
      analyzed: (job, analysis) => {
        this.core.frameAnalyzed(analysis, job.planned, this.now, this.out)
        dispatch(this, socketRequester, job, analysis)
      },
      slowDown: (to) => this.sink.slowDown(to, this.now)
    })
  }

  /** A core for this interview, restored from `from`. */
  newCore(from: RestorePoint): SessionCore {
    return new SessionCore(this.info, this.deps.settings, from, this.deps.newId)
  }
}
