/**
 * The state machine of one interview, free of I/O: waiting → question k → finished, and answers; analysed frames
 * and time go to its `SessionScoring`. Each step writes what should happen into an `Outbox` (replies, rows, events,
 * acknowledgements that wait for a commit); the SessionActor around it does the I/O. Everything it holds is a
 * `SessionState` that can be snapshotted and restored, so a restarted actor (or, later, a cluster entity on another
 * node) continues where it stood.
 */
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type { ServerMessage, SessionCommand, SessionMessage, SessionStatus } from "../../schemas/Protocol.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import type { KeyframeSettings } from "../pipeline/KeyframePolicy.ts"
import type { ScorerSettings } from "../pipeline/scorers/SessionScorer.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import { analysisMessage } from "./AnalysisMessage.ts"
import { answerDigest, answerWrite, type SubmittedAnswer } from "./Answers.ts"
import { Outbox } from "./Outbox.ts"
import type { ConsentCommand, ConsentStanding, NoticeCommand } from "./SessionConsent.ts"
import type { SessionInfo } from "./SessionInfo.ts"
import { SessionScoring } from "./SessionScoring.ts"
import { type RestorePoint, SessionState } from "./SessionState.ts"

/** The settings a core runs with (a part of the session settings). */
export interface CoreSettings {
  readonly maxFps: number
  readonly snapshotEveryMs: number
  readonly scorer: ScorerSettings
  readonly keyframes: KeyframeSettings
}

/**
 * The scheduler found no candidate socket for the abandon time: the interview ends as `abandoned` (the actor
 * refuses it while a socket is attached).
 */
export interface AbandonCommand {
  readonly _tag: "abandon"
}

/**
 * What changes an interview: the candidate's socket commands, answers submitted and consents recorded over HTTP,
 * and the scheduler's abandon.
 */
export type CoreCommand = SessionCommand | SubmittedAnswer | ConsentCommand | NoticeCommand | AbandonCommand

/** One interview's session, stepped by its actor: each call applies one input and fills the given outbox. */
export class SessionCore {
  private readonly state: SessionState
  private readonly scoring: SessionScoring
  private readonly maxFps: number
  private out: Outbox = new Outbox()

  constructor(
    readonly info: SessionInfo,
    settings: CoreSettings,
    restore: RestorePoint,
    private readonly newId: () => string
  ) {
    this.state = new SessionState(info, restore, settings.scorer, settings.keyframes)
    this.scoring = new SessionScoring(this.state, settings.snapshotEveryMs)
    this.maxFps = settings.maxFps
  }

  get sessionStatus(): SessionStatus {
    return this.state.status
  }

  /**
   * Frames are analysed until the interview finishes: before `start` too, for the candidate page's camera check,
   * but only frames of an open question are scored (see `frameAnalyzed`).
   */
  get acceptsFrames(): boolean {
    return this.state.status !== "finished"
  }

  /** Whether an analysed frame now counts: a question is open. */
  get scoresFrames(): boolean {
    return this.state.status === "question"
  }

  /** The candidate's consent as it stands: frames need `processing`; affect signals are in force with `affect`. */
  get consent(): Pick<SessionState, "processing" | "affect"> & { readonly standing: ConsentStanding } {
    const s = this.state
    return { processing: s.processing, affect: s.affect, standing: s.consent.standing() }
  }

  get eventSequence(): number {
    return this.state.eventSeq
  }

  /** Where the interview stands, for a socket that (re)joins. */
  sessionMessage(maxFps: number, resumed: boolean): SessionMessage {
    return this.state.sessionMessage(maxFps, resumed)
  }

  /** Where the interview stands, as live-hash fields (announced when the session starts or resumes). */
  liveFields(): Record<string, string | number> {
    return this.state.liveFields()
  }

  /** Applies a command. */
  command(command: CoreCommand, now: number, out: Outbox): void {
    this.out = out
    switch (command._tag) {
      case "start":
        this.start(now)
        break
      case "answer":
        this.answer(command.questionId, command.text, now)
        break
      case "submitAnswer":
        if (this.state.processing) this.answer(command.questionId, command.text, now, command)
        else this.out.refuse("consent_required", "the candidate has not consented to data processing")
        break
      case "consent":
      case "notice":
        // The decision's row (or the tenant's notice) is committed: it counts from the next frame on, and the
        // socket hears of it.
        this.state.applyConsent(command)
        this.out.reply(this.state.sessionMessage(this.maxFps, this.state.status !== "waiting"))
        break
      case "next":
        this.next(command.fromQuestionId, now)
        break
      case "finish":
        this.finish(now)
        break
      case "abandon":
        if (this.state.status === "finished") this.refuseByStatus()
        else this.finish(now, true)
        break
    }
  }

  /** Before a frame is analysed: whether it is due as the periodic keyframe (its heat-map is then wanted). */
  planFrame(capturedAt: number): boolean {
    return this.scoring.plan(capturedAt)
  }

  /** See `KeyframePolicy.expressionBar`. */
  expressionBar(capturedAt: number): number | undefined {
    return this.scoring.expressionBar(capturedAt)
  }

  /** Replies with a frame's analysis, and scores it while a question is open. */
  frameAnalyzed(analysis: FrameAnalysis, planned: boolean, now: number, out: Outbox): void {
    if (analysis.seq > this.state.lastSeq) this.state.lastSeq = analysis.seq
    out.replies.push(analysisMessage(analysis, this.state.affect))
    if (this.state.status === "question") this.scoring.frame(analysis, planned, now, out)
  }

  /** Time passes: close an idle window, snapshot aggregates now and then. */
  tick(now: number, out: Outbox): void {
    this.scoring.tick(now, out)
  }

  /** The actor stops (passivation, shutdown): close the open window and commit a final snapshot. */
  stop(now: number, out: Outbox): void {
    this.scoring.closeWindow(out)
    out.ordered.push({ _tag: "Commit", writes: [this.state.snapshotWrite(now)], events: [], acks: [], close: false })
  }

  private refuseByStatus() {
    if (this.state.status === "waiting") this.out.refuse("not_started", "send start first")
    else this.out.refuse("finished", "the interview is finished")
  }

  private commit(events: Array<ScoreEvent>, acks: Array<ServerMessage>, now: number, extra: Array<SessionWrite> = []) {
    // Events of a commit come after the bulk events of the same step (a question summary before the next start).
    const writes: Array<SessionWrite> = [...extra, this.state.stateWrite(), this.state.snapshotWrite(now)]
    this.out.ordered.push({ _tag: "Commit", writes, events, acks, close: this.state.status === "finished" })
  }

  private start(now: number) {
    const s = this.state
    if (s.status === "question") return this.out.reply(s.questionMessage())
    if (s.status === "finished") return this.refuseByStatus()
    if (this.info.questions.length === 0) return this.out.refuse("no_more_questions", "the interview has no questions")
    s.status = "question"
    s.cursor = 0
    s.startedAt = now
    const started = s.sequence({ _tag: "interviewStarted", at: now, questionCount: this.info.questions.length })
    this.commit([started, this.scoring.openQuestion(now)], [s.questionMessage()], now)
  }

  private answer(questionId: string, text: string, now: number, submitted?: SubmittedAnswer) {
    const s = this.state
    if (submitted === undefined ? s.status !== "question" : s.status === "finished") return this.refuseByStatus()
    const question = this.info.questions.find((q) => q.id === questionId)
    if (question === undefined)
      return this.out.refuse("unknown_question", `no question ${questionId} in this interview`)
    const digest = answerDigest(text)
    const existing = s.answers.get(questionId)
    if (existing !== undefined) {
      // The same answer again (a client re-sending after a reconnect) is acknowledged again; another is refused.
      if (existing.digest === digest)
        return this.out.reply({ _tag: "answerSaved", questionId, answerId: existing.answerId })
      return this.out.refuse("already_answered", `question ${questionId} already has a different answer`)
    }
    if (submitted === undefined && question.index !== s.cursor)
      return this.out.refuse("not_current_question", `question ${questionId} is not the current question`)
    const answerId = this.newId()
    s.answers.set(questionId, { answerId, digest })
    const recorded = s.sequence({ _tag: "answerRecorded", at: now, questionId, answerId, chars: text.length })
    const row = answerWrite(this.info.interviewId, questionId, answerId, text, submitted)
    this.commit([recorded], [{ _tag: "answerSaved", questionId, answerId }], now, [row])
  }

  private next(fromQuestionId: string | undefined, now: number) {
    const s = this.state
    if (s.status !== "question") return this.refuseByStatus()
    if (fromQuestionId !== undefined && fromQuestionId !== s.current().id) return this.out.reply(s.questionMessage())
    if (s.cursor >= this.info.questions.length - 1)
      return this.out.refuse("no_more_questions", "this was the last question; send finish")
    const closing = this.scoring.endQuestion(now, this.out)
    s.cursor++
    this.commit([...closing, this.scoring.openQuestion(now)], [s.questionMessage()], now)
  }

  private finish(now: number, abandoned = false) {
    const s = this.state
    if (s.status === "finished") return this.out.reply({ _tag: "finished", reportUrl: this.info.reportUrl })
    const closing = this.scoring.endQuestion(now, this.out)
    s.status = "finished"
    s.abandoned = abandoned
    s.finishedAt = now
    s.startedAt ??= now
    const finished = s.sequence({
      _tag: "interviewFinished",
      at: now,
      answered: s.answers.size,
      questionCount: this.info.questions.length
    })
    this.commit([...closing, finished], [{ _tag: "finished", reportUrl: this.info.reportUrl }], now)
  }
}
