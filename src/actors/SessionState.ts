/**
 * Where one interview's session stands: status, question cursor, times, counters, the answers on record, the
 * scorers' aggregates and the keyframe policy. It is rebuilt from a `RestorePoint` and taken whole as a snapshot,
 * so a restarted actor continues where the last one stood, and it is shown as it stands to a (re)joining socket
 * and the live view. Plain state, changed only by its `SessionCore` and the core's `SessionScoring`.
 */
import type { QuestionMessage, SessionMessage, SessionStatus } from "../../schemas/Protocol.ts"
import type { ScoreEvent } from "../../schemas/ScoreEvent.ts"
import { KeyframePolicy, type KeyframeSettings } from "../pipeline/KeyframePolicy.ts"
import { type ScorerSettings, SessionScorer } from "../pipeline/scorers/SessionScorer.ts"
import type { SessionWrite } from "../store/SessionWrites.ts"
import { type AnswerOnRecord, answerDigest } from "./Answers.ts"
import { type ConsentCommand, type ConsentStanding, type NoticeCommand, SessionConsent } from "./SessionConsent.ts"
import type { SessionInfo, SessionQuestion } from "./SessionInfo.ts"
import type { SessionSnapshot } from "./SessionMessages.ts"

/** Where a session restarts from: its snapshot, or what the database holds when there is none. */
export interface RestorePoint {
  readonly snapshot: SessionSnapshot | undefined
  /** Highest event sequence already written; numbering continues after it. */
  readonly maxEventSeq: number
  readonly answers: ReadonlyArray<{ readonly questionId: string; readonly answerId: string; readonly body: string }>
  /** The candidate's consent decisions and the tenant's notice version (stored rows, newer than any snapshot). */
  readonly consent: ConsentStanding
}

/** A score event before the session numbers it. */
type Unsequenced = ScoreEvent extends infer E ? (E extends ScoreEvent ? Omit<E, "interviewId" | "seq"> : never) : never

/** The session's restorable state, with the views and rows derived from it. */
export class SessionState {
  status: SessionStatus = "waiting"
  cursor = -1
  startedAt: number | null = null
  finishedAt: number | null = null
  /** Ended by the scheduler for want of a candidate (stored as `abandoned`), not by the candidate. */
  abandoned = false
  eventSeq: number
  /** The highest frame sequence analysed. */
  lastSeq = -1
  private version = 0
  /** By question id. */
  readonly answers = new Map<string, AnswerOnRecord>()
  readonly scorer: SessionScorer
  readonly keyframes: KeyframePolicy
  readonly consent: SessionConsent
  /** Since when the aggregates have changed without a snapshot; undefined when nothing is unsaved. */
  dirtySince: number | undefined
  lastSnapshotAt = 0

  constructor(
    readonly info: SessionInfo,
    restore: RestorePoint,
    scorer: ScorerSettings,
    keyframes: KeyframeSettings
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
    this.consent = new SessionConsent(restore.consent)
    this.scorer = new SessionScorer(this.affect, scorer, s?.scorer)
    this.keyframes = new KeyframePolicy(this.affect, keyframes, s?.keyframes)
  }

  /** Whether the candidate's data may be processed: frames are analysed only then. */
  get processing(): boolean {
    return this.consent.counts("data_processing")
  }

  /** Affect signals in force: the interview has them on and the candidate consented. */
  get affect(): boolean {
    return this.info.affect && this.consent.counts("affect_analysis")
  }

  /** A consent decision recorded over HTTP, or a new notice: the scorers and the keyframe policy follow at once. */
  applyConsent(command: ConsentCommand | NoticeCommand): void {
    if (command._tag === "notice") this.consent.notice(command.version)
    else {
      this.consent.notice(command.currentNotice)
      const { kind, granted, noticeVersion, at } = command
      this.consent.record({ kind, granted, noticeVersion, at })
    }
    this.scorer.affect = this.affect
    this.keyframes.affect = this.affect
  }

  /** Numbers a score event of this interview: its sequence continues after every event already written. */
  sequence(fields: Unsequenced): ScoreEvent {
    return { ...fields, interviewId: this.info.interviewId, seq: ++this.eventSeq } as ScoreEvent
  }

  /** The question at the cursor (only while the status is `question`). */
  current(): SessionQuestion {
    return this.info.questions[this.cursor]!
  }

  questionMessage(): QuestionMessage {
    const q = this.current()
    return { _tag: "question", questionId: q.id, index: q.index, prompt: q.prompt, count: this.info.questions.length }
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
      affectSignals: this.affect,
      consentRequired: !this.processing,
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

  /** A snapshot taken now, as the row that commits it. */
  snapshotWrite(now: number): SessionWrite {
    const state = this.snapshot(now)
    return { _tag: "Snapshot", interviewId: this.info.interviewId, version: state.version, state }
  }

  /** The interview's own row as it stands (status, cursor, times). */
  stateWrite(): SessionWrite {
    return {
      _tag: "InterviewState",
      interviewId: this.info.interviewId,
      status: this.status !== "finished" ? "in_progress" : this.abandoned ? "abandoned" : "finished",
      cursor: this.cursor,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt
    }
  }
}
