/**
 * Which frames are kept as keyframes: one every `everyMs` of capture time, plus frames where a signal peaks —
 * the strongest non-neutral expression of a question so far (affect signals on only), the face leaving the
 * picture, a second face appearing. Spaced out and capped per interview so storage stays bounded.
 */
import { strongestExpression } from "../../schemas/Emotions.ts"
import type { FrameAnalysis } from "../../schemas/FrameAnalysis.ts"
import { scatter } from "../Scatter.ts"

export type KeyframeReason = "periodic" | "expression" | "faceLost" | "multipleFaces"

export interface KeyframeSettings {
  readonly everyMs: number
  /** Least non-neutral probability for an expression keyframe. */
  readonly expressionThreshold: number
  /** Least spacing between two event keyframes (expression, face lost, second face). */
  readonly minGapMs: number
  readonly maxPerInterview: number
}

export const defaultKeyframeSettings: KeyframeSettings = {
  everyMs: 10_000,
  expressionThreshold: 0.6,
  minGapMs: 3_000,
  maxPerInterview: 400
}

export interface KeyframeState {
  readonly lastPeriodicAt: number | null
  readonly lastEventAt: number | null
  readonly questionPeak: number
  readonly hadFace: boolean
  readonly hadMultiple: boolean
  readonly count: number
}

export const emptyKeyframeState: KeyframeState = {
  lastPeriodicAt: null,
  lastEventAt: null,
  questionPeak: 0,
  hadFace: false,
  hadMultiple: false,
  count: 0
}

/** How much stronger than the question's peak so far an expression must be to be kept again. */
const EXPRESSION_STEP = 0.05

export class KeyframePolicy {
  private s: { -readonly [K in keyof KeyframeState]: KeyframeState[K] }

  constructor(
    /** Affect signals in force (the tenant allows them and the candidate consented); may change mid-session. */
    public affect: boolean,
    private readonly settings: KeyframeSettings = defaultKeyframeSettings,
    state: KeyframeState = emptyKeyframeState
  ) {
    this.s = { ...state }
  }

  /**
   * Before analysis: is this frame due as the periodic keyframe? (Then its heat-map is asked for with it.) The
   * first frame is; the second comes after between half of `everyMs` and all of it, scattered by the first's
   * capture time, and the rest `everyMs` apart. Interviews started together would otherwise ask for their
   * heat-maps on the same frames, as one burst the inference workers queue behind, every `everyMs`.
   */
  plan(capturedAt: number): boolean {
    if (this.s.count >= this.settings.maxPerInterview) return false
    const last = this.s.lastPeriodicAt
    if (last !== null && capturedAt - last < this.settings.everyMs) return false
    this.s.lastPeriodicAt =
      last === null ? capturedAt - Math.floor((scatter(capturedAt) * this.settings.everyMs) / 2) : capturedAt
    return true
  }

  /**
   * Before analysis, for a frame that is not the periodic keyframe: the least expression (see `strongestExpression`)
   * that would make it an expression keyframe, so that its analysis can draw the heat-map at once instead of a
   * second analysis doing it later; undefined when no expression could make it one (affect signals off, too soon
   * after the last event keyframe, the cap reached). Frames in flight are judged later against a bar as high or
   * higher, so a heat-map is never missing for want of asking, except across a new question (the sink then
   * analyses the frame again).
   */
  expressionBar(capturedAt: number): number | undefined {
    const s = this.s
    if (!this.affect || s.count >= this.settings.maxPerInterview) return undefined
    if (s.lastEventAt !== null && capturedAt - s.lastEventAt < this.settings.minGapMs) return undefined
    return Math.max(this.settings.expressionThreshold, s.questionPeak + EXPRESSION_STEP)
  }

  /** After analysis: why the frame should be kept, if it should. */
  judge(analysis: FrameAnalysis, planned: boolean): KeyframeReason | undefined {
    const s = this.s
    const faces = analysis.faces.length
    const at = analysis.capturedAt
    const spaced = s.lastEventAt === null || at - s.lastEventAt >= this.settings.minGapMs
    let reason: KeyframeReason | undefined
    if (faces === 0 && s.hadFace && spaced) reason = "faceLost"
    else if (faces > 1 && !s.hadMultiple && spaced) reason = "multipleFaces"
    else if (this.affect && faces > 0 && spaced) {
      const peak = strongestExpression(analysis.faces[0]?.emotion)
      if (peak >= this.settings.expressionThreshold && peak > s.questionPeak + EXPRESSION_STEP) {
        s.questionPeak = peak
        reason = "expression"
      }
    }
    s.hadFace = faces > 0
    if (faces > 1) s.hadMultiple = true
    if (reason !== undefined) s.lastEventAt = at
    else if (planned) reason = "periodic"
    if (reason === undefined || s.count >= this.settings.maxPerInterview) return undefined
    s.count++
    return reason
  }

  /** A new question: its strongest expression starts from zero again. */
  newQuestion(): void {
    this.s.questionPeak = 0
    this.s.hadMultiple = false
  }

  state(): KeyframeState {
    return { ...this.s }
  }
}
