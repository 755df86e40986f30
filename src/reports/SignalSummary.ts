/**
 * Attention, affect and the one-second timeline of a report, from the score windows a live session stored (one
 * row per second of analysed video) and its attention events (for the multiple-faces share, which windows do not
 * keep). Affect values are dropped here too when the interview had affect signals off, whatever the rows hold.
 */
import { EMOTIONS } from "../../schemas/Emotions.ts"
import type { EmotionLabel, EmotionScores } from "../../schemas/FrameAnalysis.ts"
import type { AffectSummary, Attention, QuestionSignals, TimelinePoint } from "../../schemas/Report.ts"
import type { AttentionRow, WindowRow } from "../store/ReportInputs.ts"
import type { VideoAnalysisRow } from "../store/VideoAnalyses.ts"

/** A blink rate needs this much face time to mean anything. */
export const minBlinkRateFaceSeconds = 10

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000

const dominantOf = (e: EmotionScores): EmotionLabel => {
  let best: EmotionLabel = EMOTIONS[0]
  for (const label of EMOTIONS) if (e[label] > e[best]) best = label
  return best
}

/** Frame-weighted mean distribution over frames with a face, or null when there is none. */
const meanEmotion = (windows: ReadonlyArray<WindowRow>): EmotionScores | null => {
  const sums = EMOTIONS.map(() => 0)
  let weight = 0
  for (const w of windows) {
    if (w.emotion === null) continue
    const faceFrames = w.frames * w.facePresence
    if (faceFrames <= 0) continue
    EMOTIONS.forEach((label, i) => {
      sums[i]! += w.emotion![label] * faceFrames
    })
    weight += faceFrames
  }
  if (weight === 0) return null
  const total = sums.reduce((a, b) => a + b, 0)
  const scale = total > 0 ? total : weight
  return Object.fromEntries(EMOTIONS.map((label, i) => [label, round4(sums[i]! / scale)])) as EmotionScores
}

const blinkTotals = (windows: ReadonlyArray<WindowRow>) => {
  let blinks = 0
  let counted = false
  let faceSeconds = 0
  for (const w of windows) {
    faceSeconds += w.facePresence
    if (w.blinks !== null) {
      blinks += w.blinks
      counted = true
    }
  }
  const perMinute = counted && faceSeconds >= minBlinkRateFaceSeconds ? round4((blinks / faceSeconds) * 60) : null
  return { blinks, counted, perMinute }
}

const facePresenceOf = (windows: ReadonlyArray<WindowRow>): number | null => {
  const frames = windows.reduce((a, w) => a + w.frames, 0)
  return frames === 0 ? null : round4(windows.reduce((a, w) => a + w.frames * w.facePresence, 0) / frames)
}

export const timelineOf = (windows: ReadonlyArray<WindowRow>, affect: boolean): Array<TimelinePoint> =>
  windows.map((w) => {
    const emotion = affect && w.emotion !== null ? w.emotion : null
    return {
      second: w.second,
      questionId: w.questionId,
      frames: w.frames,
      facePresence: round4(w.facePresence),
      blinks: affect ? w.blinks : null,
      emotion,
      dominant: emotion === null ? null : dominantOf(emotion)
    }
  })

export const attentionOf = (
  windows: ReadonlyArray<WindowRow>,
  events: ReadonlyArray<AttentionRow>
): Attention | null => {
  const facePresence = facePresenceOf(windows)
  if (facePresence === null) return null
  const eventFrames = events.reduce((a, e) => a + e.frames, 0)
  return {
    seconds: windows.length,
    frames: windows.reduce((a, w) => a + w.frames, 0),
    facePresence,
    multipleFaces:
      eventFrames === 0 ? null : round4(events.reduce((a, e) => a + e.frames * e.multipleFaces, 0) / eventFrames)
  }
}

export const affectOf = (windows: ReadonlyArray<WindowRow>, affect: boolean): AffectSummary | null => {
  if (!affect) return null
  const emotion = meanEmotion(windows)
  if (emotion === null) return null
  const { blinks, perMinute } = blinkTotals(windows)
  return { emotion, dominant: dominantOf(emotion), blinks, blinksPerMinute: perMinute }
}

/** Whether the windows carry blink counts at all (they do not when affect signals were off). */
export const hasBlinks = (windows: ReadonlyArray<WindowRow>, affect: boolean): boolean =>
  affect && windows.some((w) => w.blinks !== null)

/**
 * A question's signals from the latest video uploaded for it, or null when none was analysed. Affect values are
 * left out when the report does not use affect signals, whatever the analysis measured.
 */
export const uploadSignalsOf = (
  videos: ReadonlyArray<VideoAnalysisRow>,
  questionId: string,
  affect: boolean
): QuestionSignals | null => {
  const latest = videos.filter((v) => v.questionId === questionId).at(-1)
  if (latest === undefined) return null
  const s = latest.summary
  const measured = affect && s.affect
  return {
    seconds: s.timeline.length,
    facePresence: s.facePresence,
    blinksPerMinute: measured ? s.blinksPerMinute : null,
    emotion: measured ? s.emotion : null,
    dominant: measured ? s.dominant : null,
    source: "upload",
    frames: s.frames,
    multipleFaces: s.multipleFaces,
    blinks: measured ? s.blinks : null,
    jobId: latest.jobId
  }
}

export const questionSignalsOf = (
  windows: ReadonlyArray<WindowRow>,
  questionId: string,
  affect: boolean
): QuestionSignals | null => {
  const mine = windows.filter((w) => w.questionId === questionId)
  if (mine.length === 0) return null
  const emotion = affect ? meanEmotion(mine) : null
  return {
    seconds: mine.length,
    facePresence: facePresenceOf(mine),
    blinksPerMinute: affect ? blinkTotals(mine).perMinute : null,
    emotion,
    dominant: emotion === null ? null : dominantOf(emotion),
    source: "live"
  }
}
