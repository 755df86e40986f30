/**
 * Running totals of the frame signals over a span (one second, one question): face presence, eye aspect ratio,
 * emotion sums and frame-to-frame emotion change, blinks. Plain numbers, so a span can be snapshotted as JSON.
 */
import type { EmotionLabel, EmotionScores } from "../../../schemas/FrameAnalysis.ts"
import { accumulate, dominantOf, meanOf, zeros } from "./EmotionStats.ts"

export interface SignalTotalsState {
  readonly frames: number
  readonly withFace: number
  readonly multipleFaces: number
  readonly earSum: number
  readonly earFrames: number
  readonly emotionSums: ReadonlyArray<number>
  readonly emotionFrames: number
  readonly volatilitySum: number
  readonly volatilityPairs: number
  readonly blinks: number
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000

export class SignalTotals {
  frames = 0
  withFace = 0
  multipleFaces = 0
  earSum = 0
  earFrames = 0
  emotionSums: Array<number> = zeros()
  emotionFrames = 0
  volatilitySum = 0
  volatilityPairs = 0
  blinks = 0

  static from(state: SignalTotalsState): SignalTotals {
    const t = new SignalTotals()
    t.frames = state.frames
    t.withFace = state.withFace
    t.multipleFaces = state.multipleFaces
    t.earSum = state.earSum
    t.earFrames = state.earFrames
    t.emotionSums = [...state.emotionSums]
    t.emotionFrames = state.emotionFrames
    t.volatilitySum = state.volatilitySum
    t.volatilityPairs = state.volatilityPairs
    t.blinks = state.blinks
    return t
  }

  /** Counts one frame; `ear` and `emotion` only when affect signals are on and a face is visible. */
  add(faces: number, ear: number | undefined, emotion: EmotionScores | null | undefined, change: number | undefined) {
    this.frames++
    if (faces > 0) this.withFace++
    if (faces > 1) this.multipleFaces++
    if (ear !== undefined) {
      this.earSum += ear
      this.earFrames++
    }
    if (emotion != null) {
      accumulate(this.emotionSums, emotion)
      this.emotionFrames++
    }
    if (change !== undefined) {
      this.volatilitySum += change
      this.volatilityPairs++
    }
  }

  facePresence(): number {
    return this.frames === 0 ? 0 : round4(this.withFace / this.frames)
  }

  multipleFaceShare(): number {
    return this.frames === 0 ? 0 : round4(this.multipleFaces / this.frames)
  }

  earMean(): number | null {
    return this.earFrames === 0 ? null : round4(this.earSum / this.earFrames)
  }

  emotion(): EmotionScores | null {
    return this.emotionFrames === 0 ? null : meanOf(this.emotionSums, this.emotionFrames)
  }

  dominant(): EmotionLabel | null {
    const e = this.emotion()
    return e === null ? null : dominantOf(e)
  }

  volatility(): number {
    return this.volatilityPairs === 0 ? 0 : round4(this.volatilitySum / this.volatilityPairs)
  }

  state(): SignalTotalsState {
    return {
      frames: this.frames,
      withFace: this.withFace,
      multipleFaces: this.multipleFaces,
      earSum: this.earSum,
      earFrames: this.earFrames,
      emotionSums: [...this.emotionSums],
      emotionFrames: this.emotionFrames,
      volatilitySum: this.volatilitySum,
      volatilityPairs: this.volatilityPairs,
      blinks: this.blinks
    }
  }
}
