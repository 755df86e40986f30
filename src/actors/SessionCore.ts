/**
 * The state machine of one interview, free of I/O: waiting → question k → finished, answers, the scorers and the
 * keyframe policy. Each step writes what should happen into an `Outbox` (replies, rows, events, acknowledgements
 * that wait for a commit); the SessionActor around it does the I/O. Everything it holds can be snapshotted and
 * restored, so a restarted actor (or, later, a cluster entity on another node) continues where it stood.
 */
import { createHash } from "node:crypto"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import type {
  ErrorCode,
  QuestionMessage,
  ServerMessage,
  SessionCommand,
  SessionMessage,
  SessionStatus
} from "../../schemas/Protocol.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { KeyframePolicy, type KeyframeSettings } from "../pipeline/KeyframePolicy.ts"
import { type ScorerSettings, type ScoreSink, SessionScorer } from "../pipeline/scorers/SessionScorer.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import { analysisMessage } from "./AnalysisMessage.ts"
import { Outbox } from "./Outbox.ts"
import type { SessionSnapshot } from "./SessionMessages.ts"

export interface SessionQuestion {
  readonly id: string
  readonly index: number
  readonly prompt: string
}

/** What the session knows about its interview; fixed for its life. */
export interface SessionInfo {
  readonly interviewId: string
  readonly tenantId: string
  readonly affect: boolean
  readonly questions: ReadonlyArray<SessionQuestion>
  readonly reportUrl: string
}

export interface CoreSettings {
  readonly maxFps: number
  readonly snapshotEveryMs: number
  readonly scorer: ScorerSettings
  readonly keyframes: KeyframeSettings
}

/**
 * An answer given outside the socket (over HTTP, typed or transcribed): to any question of the interview that is
 * not finished, in any order, and also before the candidate has started.
 */
export interface SubmittedAnswer {
  readonly _tag: "submitAnswer"
  readonly questionId: string
  readonly text: string
  readonly source: "text" | "audio"
  readonly transcription: Readonly<Record<string, unknown>> | null
}

/** What changes an interview: the candidate's socket commands and answers submitted over HTTP. */
export type CoreCommand = SessionCommand | SubmittedAnswer

/** Where a session restarts from: its snapshot, or what the database holds when there is none. */
export interface RestorePoint {
  readonly snapshot: SessionSnapshot | undefined
  /** Highest event sequence already written; numbering continues after it. */
  readonly maxEventSeq: number
  readonly answers: ReadonlyArray<{ readonly questionId: string; readonly answerId: string; readonly body: string }>
}

export const answerDigest = (text: string): string =>
  createHash("sha256").update(text, "utf8").digest("base64url").slice(0, 22)

/** A score event before the session numbers it. */
type Unsequenced = ScoreEvent extends infer E ? (E extends ScoreEvent ? Omit<E, "interviewId" | "seq"> : never) : never

const errorReply = (code: ErrorCode, message: string): ServerMessage => ({ _tag: "error", code, message })

export class SessionCore {
  private status: SessionStatus = "waiting"
  private cursor = -1
  private startedAt: number | null = null
  private finishedAt: number | null = null
  private eventSeq: number
  private lastSeq = -1
  private version = 0
  private readonly answers = new Map<string, { answerId: string; digest: string }>()
  private readonly scorer: SessionScorer
  private readonly keyframes: KeyframePolicy
  private out: Outbox = new Outbox()
  private dirtySince: number | undefined
  private lastSnapshotAt = 0
  private readonly sink: ScoreSink

  constructor(
    readonly info: SessionInfo,
    private readonly settings: CoreSettings,
    restore: RestorePoint,
    private readonly newId: () => string
  ) {
    const s = restore.snapshot
    this.eventSeq = Math.max(restore.maxEventSeq, s?.eventSeq ?? 0)
    if (s !== undefined) {
      this.status = s.status
      this.cursor = s.cursor
      this.startedAt = s.startedAt
      this.finishedAt = s.finishedAt
      this.lastSeq = s.lastSeq
      this.version = s.version
      for (const [q, a] of Object.entries(s.answers)) this.answers.set(q, a)
    }
    // Answers committed with a snapshot that was never written (or no snapshot at all) are still on record.
    for (const a of restore.answers) {
      if (!this.answers.has(a.questionId))
        this.answers.set(a.questionId, { answerId: a.answerId, digest: answerDigest(a.body) })
    }
    if (s === undefined && this.answers.size > 0) {
      this.status = "question"
      this.cursor = Math.max(...info.questions.filter((q) => this.answers.has(q.id)).map((q) => q.index))
    }
    this.scorer = new SessionScorer(info.affect, settings.scorer, s?.scorer)
    this.keyframes = new KeyframePolicy(info.affect, settings.keyframes, s?.keyframes)
    const interviewId = info.interviewId
    this.sink = {
      interviewId,
      nextSeq: () => ++this.eventSeq,
      event: (e) => this.out.events.push(e),
      window: (row) => this.out.windows.push(row)
    }
  }

  get sessionStatus(): SessionStatus {
    return this.status
  }

  get acceptsFrames(): boolean {
    return this.status === "question"
  }

  get eventSequence(): number {
    return this.eventSeq
  }

  /** Where the interview stands, for a socket that (re)joins. */
  sessionMessage(maxFps: number, resumed: boolean): SessionMessage {
    return {
      _tag: "session",
      interviewId: this.info.interviewId,
      status: this.status,
      question: this.status === "question" ? this.questionMessage() : null,
      answered: this.info.questions.filter((q) => this.answers.has(q.id)).map((q) => q.id),
      questionCount: this.info.questions.length,
      affectSignals: this.info.affect,
      maxFps,
      lastSeq: this.lastSeq,
      resumed
    }
  }

  /** Where the interview stands, as live-hash fields (announced when the session starts or resumes). */
  liveFields(): Record<string, string | number> {
    const fields: Record<string, string | number> = {
      status: this.status === "waiting" ? "scheduled" : this.status === "question" ? "in_progress" : "finished",
      questionCount: this.info.questions.length,
      answered: this.answers.size
    }
    if (this.status === "question") {
      fields.questionId = this.current().id
      fields.questionIndex = this.cursor
    }
    return fields
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
        this.answer(command.questionId, command.text, now, command)
        break
      case "next":
        this.next(command.fromQuestionId, now)
        break
      case "finish":
        this.finish(now)
        break
    }
  }

  /** Before a frame is analysed: whether it is due as the periodic keyframe (its heat-map is then wanted). */
  planFrame(capturedAt: number): boolean {
    return this.keyframes.plan(capturedAt)
  }

  /** Scores an analysed frame and replies with its analysis. */
  frameAnalyzed(analysis: FrameAnalysis, planned: boolean, now: number, out: Outbox): void {
    this.out = out
    if (analysis.seq > this.lastSeq) this.lastSeq = analysis.seq
    out.replies.push(analysisMessage(analysis, this.info.affect))
    if (this.status !== "question") return
    this.scorer.frame(analysis, now, this.sink)
    const reason = this.keyframes.judge(analysis, planned)
    if (reason !== undefined) out.keyframes.push({ seq: analysis.seq, reason })
    this.dirtySince ??= now
  }

  /** Time passes: close an idle window, snapshot aggregates now and then. */
  tick(now: number, out: Outbox): void {
    this.out = out
    this.scorer.tick(now, this.sink)
    if (this.dirtySince !== undefined && now - this.lastSnapshotAt >= this.settings.snapshotEveryMs) {
      out.snapshot = this.snapshot(now)
    }
  }

  /** The actor stops (passivation, shutdown): close the open window and commit a final snapshot. */
  stop(now: number, out: Outbox): void {
    this.out = out
    this.scorer.closeWindow(this.sink)
    out.ordered.push({
      _tag: "Commit",
      writes: [this.snapshotWrite(now)],
      events: [],
      acks: [],
      close: false
    })
  }

  /** The restorable state; taking one marks the aggregates as saved. */
  snapshot(now: number): SessionSnapshot {
    this.dirtySince = undefined
    this.lastSnapshotAt = now
    return {
      v: 1,
      version: ++this.version,
      status: this.status,
      cursor: this.cursor,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      eventSeq: this.eventSeq,
      lastSeq: this.lastSeq,
      answers: Object.fromEntries(this.answers),
      scorer: this.scorer.state(),
      keyframes: this.keyframes.state()
    }
  }

  private snapshotWrite(now: number): SessionWrite {
    const state = this.snapshot(now)
    return { _tag: "Snapshot", interviewId: this.info.interviewId, version: state.version, state }
  }

  private stateWrite(): SessionWrite {
    return {
      _tag: "InterviewState",
      interviewId: this.info.interviewId,
      status: this.status === "finished" ? "finished" : "in_progress",
      cursor: this.cursor,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt
    }
  }

  private current(): SessionQuestion {
    return this.info.questions[this.cursor]!
  }

  private questionMessage(): QuestionMessage {
    const q = this.current()
    return { _tag: "question", questionId: q.id, index: q.index, prompt: q.prompt, count: this.info.questions.length }
  }

  private reply(message: ServerMessage) {
    this.out.ordered.push({ _tag: "Reply", message })
  }

  private refuse(code: ErrorCode, message: string) {
    this.reply(errorReply(code, message))
  }

  private refuseByStatus() {
    if (this.status === "waiting") this.refuse("not_started", "send start first")
    else this.refuse("finished", "the interview is finished")
  }

  private event(fields: Unsequenced): ScoreEvent {
    return { ...fields, interviewId: this.info.interviewId, seq: ++this.eventSeq } as ScoreEvent
  }

  private openQuestion(now: number): ScoreEvent {
    const q = this.current()
    this.scorer.beginQuestion(q.id, q.index, now)
    this.keyframes.newQuestion()
    return this.event({ _tag: "questionStarted", at: now, questionId: q.id, index: q.index })
  }

  private commit(events: Array<ScoreEvent>, acks: Array<ServerMessage>, now: number, extra: Array<SessionWrite> = []) {
    // Events of a commit come after the bulk events of the same step (a question summary before the next start).
    const writes: Array<SessionWrite> = [...extra, this.stateWrite(), this.snapshotWrite(now)]
    this.out.ordered.push({ _tag: "Commit", writes, events, acks, close: this.status === "finished" })
  }

  private start(now: number) {
    if (this.status === "question") return this.reply(this.questionMessage())
    if (this.status === "finished") return this.refuseByStatus()
    if (this.info.questions.length === 0) return this.refuse("no_more_questions", "the interview has no questions")
    this.status = "question"
    this.cursor = 0
    this.startedAt = now
    const started = this.event({
      _tag: "interviewStarted",
      at: now,
      questionCount: this.info.questions.length
    })
    this.commit([started, this.openQuestion(now)], [this.questionMessage()], now)
  }

  private answer(questionId: string, text: string, now: number, submitted?: SubmittedAnswer) {
    if (submitted === undefined ? this.status !== "question" : this.status === "finished") return this.refuseByStatus()
    const question = this.info.questions.find((q) => q.id === questionId)
    if (question === undefined) return this.refuse("unknown_question", `no question ${questionId} in this interview`)
    const digest = answerDigest(text)
    const existing = this.answers.get(questionId)
    if (existing !== undefined) {
      // The same answer again (a client re-sending after a reconnect) is acknowledged again; another is refused.
      if (existing.digest === digest)
        return this.reply({ _tag: "answerSaved", questionId, answerId: existing.answerId })
      return this.refuse("already_answered", `question ${questionId} already has a different answer`)
    }
    if (submitted === undefined && question.index !== this.cursor)
      return this.refuse("not_current_question", `question ${questionId} is not the current question`)
    const answerId = this.newId()
    this.answers.set(questionId, { answerId, digest })
    const recorded = this.event({ _tag: "answerRecorded", at: now, questionId, answerId, chars: text.length })
    this.commit([recorded], [{ _tag: "answerSaved", questionId, answerId }], now, [
      {
        _tag: "Answer",
        id: answerId,
        interviewId: this.info.interviewId,
        questionId,
        body: text,
        idempotencyKey: `${this.info.interviewId}:${questionId}`,
        source: submitted?.source ?? "text",
        transcription: submitted?.transcription ?? null
      }
    ])
  }

  private next(fromQuestionId: string | undefined, now: number) {
    if (this.status !== "question") return this.refuseByStatus()
    if (fromQuestionId !== undefined && fromQuestionId !== this.current().id) return this.reply(this.questionMessage())
    if (this.cursor >= this.info.questions.length - 1)
      return this.refuse("no_more_questions", "this was the last question; send finish")
    const closing = this.endQuestion(now)
    this.cursor++
    this.commit([...closing, this.openQuestion(now)], [this.questionMessage()], now)
  }

  private finish(now: number) {
    if (this.status === "finished") return this.reply({ _tag: "finished", reportUrl: this.info.reportUrl })
    const closing = this.endQuestion(now)
    this.status = "finished"
    this.finishedAt = now
    this.startedAt ??= now
    const finished = this.event({
      _tag: "interviewFinished",
      at: now,
      answered: this.answers.size,
      questionCount: this.info.questions.length
    })
    this.commit([...closing, finished], [{ _tag: "finished", reportUrl: this.info.reportUrl }], now)
  }

  /** Ends the current question; its last window and summary become part of the lifecycle commit. */
  private endQuestion(now: number): Array<ScoreEvent> {
    const mark = this.out.events.length
    this.scorer.endQuestion(now, this.sink)
    return this.out.events.splice(mark)
  }
}
