/**
 * Turns the analysed frames of one interview into `ScoreEvent`s: a window per second of capture time (attention,
 * and with affect signals on, emotion), blinks as they complete, and a summary per question. Deterministic and
 * free of I/O: the caller supplies the clock and the sink, and can snapshot and restore the state.
 *
 * Seconds count from the first analysed frame. A window is closed when a frame of a later second arrives, when
 * frames stop for a while, or when the question changes; a frame of a second already closed (out of order, or
 * after a question change) still counts for its question but for no window, so each second has one window.
 */
import type { EmotionScores, FrameAnalysis } from "../../../schemas/FrameAnalysis.ts"
import type { ScoreEvent } from "../../../schemas/ScoreEvent.ts"
import {
  BlinkDetector,
  type BlinkSettings,
  type BlinkState,
  defaultBlinkSettings,
  emptyBlinkState
} from "./BlinkDetector.ts"
import type { ScoreWindowRow } from "../../store/SessionWrites.ts"
import { totalVariation } from "./EmotionStats.ts"
import { SignalTotals, type SignalTotalsState } from "./SignalTotals.ts"

/** Where the scorer's output goes; `nextSeq` numbers events per interview. */
export interface ScoreSink {
  readonly interviewId: string
  readonly nextSeq: () => number
  readonly event: (event: ScoreEvent) => void
  readonly window: (row: ScoreWindowRow) => void
}

export interface ScorerSettings {
  readonly blink: BlinkSettings
  /** An open window with no new frame for this long (wall clock) is closed. */
  readonly idleWindowMs: number
  /** A question's blink rate needs at least this much face time. */
  readonly minQuestionRateMs: number
}

export const defaultScorerSettings: ScorerSettings = {
  blink: defaultBlinkSettings,
  idleWindowMs: 1_500,
  minQuestionRateMs: 5_000
}

export interface QuestionState {
  readonly questionId: string
  readonly index: number
  readonly openedAt: number
  readonly totals: SignalTotalsState
  readonly firstFaceAt: number | null
  readonly lastFaceAt: number | null
}

export interface ScorerState {
  readonly t0: number | null
  readonly lastClosedSecond: number
  readonly blink: BlinkState
  readonly question: QuestionState | null
}

export const emptyScorerState: ScorerState = { t0: null, lastClosedSecond: -1, blink: emptyBlinkState, question: null }

interface OpenWindow {
  readonly second: number
  readonly questionId: string | null
  readonly totals: SignalTotals
}

interface OpenQuestion {
  readonly questionId: string
  readonly index: number
  readonly openedAt: number
  readonly totals: SignalTotals
  firstFaceAt: number | null
  lastFaceAt: number | null
}

export class SessionScorer {
  private t0: number | null
  private lastClosedSecond: number
  private readonly blinks: BlinkDetector
  private question: OpenQuestion | undefined
  private window: OpenWindow | undefined
  private previousEmotion: EmotionScores | null = null
  private lastFrameWall = 0

  constructor(
    /** Affect signals in force (the tenant allows them and the candidate consented); may change mid-session. */
    public affect: boolean,
    private readonly settings: ScorerSettings = defaultScorerSettings,
    state: ScorerState = emptyScorerState
  ) {
    this.t0 = state.t0
    this.lastClosedSecond = state.lastClosedSecond
    this.blinks = new BlinkDetector(settings.blink, state.blink)
    const q = state.question
    this.question =
      q === null
        ? undefined
        : { ...q, totals: SignalTotals.from(q.totals), firstFaceAt: q.firstFaceAt, lastFaceAt: q.lastFaceAt }
  }

  /** Scores one analysed frame; `now` is the wall clock when it was analysed. */
  frame(analysis: FrameAnalysis, now: number, sink: ScoreSink): void {
    const at = analysis.capturedAt
    this.lastFrameWall = now
    if (this.t0 === null) this.t0 = at
    const second = Math.floor((at - this.t0) / 1000)
    if (this.window !== undefined && second > this.window.second) this.closeWindow(sink)
    if (this.window === undefined && second > this.lastClosedSecond) {
      this.window = { second, questionId: this.question?.questionId ?? null, totals: new SignalTotals() }
    }
    const window = this.window !== undefined && this.window.second === second ? this.window : undefined

    const face = analysis.faces[0]
    const faces = analysis.faces.length
    const ear = this.affect && face !== undefined ? face.ear.mean : undefined
    const emotion = this.affect && face !== undefined ? face.emotion : null
    let change: number | undefined
    if (emotion !== null && this.previousEmotion !== null) change = totalVariation(this.previousEmotion, emotion)
    this.previousEmotion = emotion
    window?.totals.add(faces, ear, emotion, change)
    const q = this.question
    if (q !== undefined) {
      q.totals.add(faces, ear, emotion, change)
      if (face !== undefined) {
        if (q.firstFaceAt === null || at < q.firstFaceAt) q.firstFaceAt = at
        if (q.lastFaceAt === null || at > q.lastFaceAt) q.lastFaceAt = at
      }
    }

    if (!this.affect) return
    const duration = this.blinks.observe(at, ear)
    if (duration < 0) return
    if (window !== undefined) window.totals.blinks++
    if (q !== undefined) q.totals.blinks++
    sink.event({
      _tag: "blink",
      interviewId: sink.interviewId,
      seq: sink.nextSeq(),
      at,
      questionId: q?.questionId ?? null,
      durationMs: duration,
      total: this.blinks.total,
      perMinute: roundOrNull(this.blinks.perMinute(at))
    })
  }

  /** Closes the open window when frames have stopped coming. */
  tick(now: number, sink: ScoreSink): void {
    if (this.window !== undefined && now - this.lastFrameWall >= this.settings.idleWindowMs) this.closeWindow(sink)
  }

  beginQuestion(questionId: string, index: number, now: number): void {
    this.question = {
      questionId,
      index,
      openedAt: now,
      totals: new SignalTotals(),
      firstFaceAt: null,
      lastFaceAt: null
    }
  }

  /** Closes the open window and emits the current question's summary. */
  endQuestion(now: number, sink: ScoreSink): void {
    this.closeWindow(sink)
    const q = this.question
    if (q === undefined) return
    this.question = undefined
    const t = q.totals
    const faceSpan = q.firstFaceAt === null || q.lastFaceAt === null ? 0 : q.lastFaceAt - q.firstFaceAt
    const affect = this.affect
    sink.event({
      _tag: "questionSummary",
      interviewId: sink.interviewId,
      seq: sink.nextSeq(),
      at: now,
      questionId: q.questionId,
      index: q.index,
      durationMs: Math.max(0, now - q.openedAt),
      frames: t.frames,
      facePresence: t.frames === 0 ? null : t.facePresence(),
      blinks: affect ? t.blinks : null,
      blinksPerMinute:
        affect && faceSpan >= this.settings.minQuestionRateMs ? round2((t.blinks * 60_000) / faceSpan) : null,
      emotion: affect ? t.emotion() : null,
      dominant: affect ? t.dominant() : null,
      volatility: affect && t.emotionFrames > 0 ? t.volatility() : null
    })
  }

  /** Emits the open window, if any. */
  closeWindow(sink: ScoreSink): void {
    const w = this.window
    if (w === undefined) return
    this.window = undefined
    this.lastClosedSecond = w.second
    const t = w.totals
    const at = (this.t0 ?? 0) + (w.second + 1) * 1000
    sink.event({
      _tag: "attention",
      interviewId: sink.interviewId,
      seq: sink.nextSeq(),
      at,
      second: w.second,
      questionId: w.questionId,
      frames: t.frames,
      facePresence: t.facePresence(),
      multipleFaces: t.multipleFaceShare()
    })
    const emotion = this.affect ? t.emotion() : null
    if (emotion !== null) {
      sink.event({
        _tag: "emotion",
        interviewId: sink.interviewId,
        seq: sink.nextSeq(),
        at,
        second: w.second,
        questionId: w.questionId,
        frames: t.emotionFrames,
        distribution: emotion,
        dominant: t.dominant()!,
        volatility: t.volatility()
      })
    }
    sink.window({
      second: w.second,
      questionId: w.questionId,
      frames: t.frames,
      facePresence: t.facePresence(),
      blinks: this.affect ? t.blinks : null,
      earMean: this.affect ? t.earMean() : null,
      emotion
    })
  }

  get blinkTotal(): number {
    return this.blinks.total
  }

  /** State to restore from; the open window is not part of it (a restart loses at most that second). */
  state(): ScorerState {
    const q = this.question
    return {
      t0: this.t0,
      lastClosedSecond: Math.max(this.lastClosedSecond, this.window?.second ?? -1),
      blink: this.blinks.snapshot(),
      question:
        q === undefined
          ? null
          : {
              questionId: q.questionId,
              index: q.index,
              openedAt: q.openedAt,
              totals: q.totals.state(),
              firstFaceAt: q.firstFaceAt,
              lastFaceAt: q.lastFaceAt
            }
    }
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100
const roundOrNull = (x: number | null) => (x === null ? null : round2(x))
