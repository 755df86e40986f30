/**
 * A session's scorers and keyframe policy at work between and around its commands: analysed frames and passing
 * time feed the aggregates, whose bulk events and windows go into the step's `Outbox`; questions open and close
 * them; and while they hold changes not yet saved, a snapshot is taken now and then. A part of `SessionCore`,
 * called only by it.
 */
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import type { ScoreSink } from "../pipeline/scorers/SessionScorer.ts"
import { Outbox } from "./Outbox.ts"
import type { SessionState } from "./SessionState.ts"

/** The scoring side of a `SessionCore`, over the core's `SessionState`. */
export class SessionScoring {
  /** Where the scorers' events and windows go: the outbox of the step under way. */
  private out: Outbox = new Outbox()
  private readonly sink: ScoreSink

  constructor(
    private readonly state: SessionState,
    private readonly snapshotEveryMs: number
  ) {
    this.sink = {
      interviewId: state.info.interviewId,
      nextSeq: () => ++state.eventSeq,
      event: (e) => this.out.events.push(e),
      window: (row) => this.out.windows.push(row)
    }
  }

  /** Before a frame is analysed: whether it is due as the periodic keyframe (its heat-map is then wanted). */
  plan(capturedAt: number): boolean {
    return this.state.keyframes.plan(capturedAt)
  }

  /** Before a frame that is not planned is analysed: the expression that would make it a keyframe, if any could. */
  expressionBar(capturedAt: number): number | undefined {
    return this.state.keyframes.expressionBar(capturedAt)
  }

  /** Scores an analysed frame of the current question and asks for it as a keyframe if the policy wants it. */
  frame(analysis: FrameAnalysis, planned: boolean, now: number, out: Outbox): void {
    this.out = out
    this.state.scorer.frame(analysis, now, this.sink)
    const reason = this.state.keyframes.judge(analysis, planned)
    if (reason !== undefined) out.keyframes.push({ seq: analysis.seq, reason })
    this.state.dirtySince ??= now
  }

  /** Time passes: close an idle window, snapshot aggregates now and then. */
  tick(now: number, out: Outbox): void {
    this.out = out
    this.state.scorer.tick(now, this.sink)
    if (this.state.dirtySince !== undefined && now - this.state.lastSnapshotAt >= this.snapshotEveryMs) {
      out.snapshot = this.state.snapshot(now)
    }
  }

  /** Opens the question at the cursor: its aggregates and the keyframe policy start afresh. */
  openQuestion(now: number): ScoreEvent {
    const q = this.state.current()
    this.state.scorer.beginQuestion(q.id, q.index, now)
    this.state.keyframes.newQuestion()
    return this.state.sequence({ _tag: "questionStarted", at: now, questionId: q.id, index: q.index })
  }

  /** Ends the current question; its last window and summary are returned to become part of the step's commit. */
  endQuestion(now: number, out: Outbox): Array<ScoreEvent> {
    this.out = out
    const mark = out.events.length
    this.state.scorer.endQuestion(now, this.sink)
    return out.events.splice(mark)
  }

  /** Closes the open window (the session stops). */
  closeWindow(out: Outbox): void {
    this.out = out
    this.state.scorer.closeWindow(this.sink)
  }
}
