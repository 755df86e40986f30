/**
 * Arithmetic on emotion distributions, kept as plain arrays in the model's class order so that per-frame
 * accumulation allocates nothing.
 */
import { EMOTIONS } from "../../../schemas/Emotions.ts"
import type { EmotionLabel, EmotionScores } from "../../../schemas/FrameAnalysis.ts"

export const EMOTION_COUNT = EMOTIONS.length

/** Adds `scores` into `sums` (class order). */
export const accumulate = (sums: Array<number>, scores: EmotionScores): void => {
  for (let i = 0; i < EMOTION_COUNT; i++) sums[i]! += scores[EMOTIONS[i]!]
}

/** Total-variation distance between two distributions: half the L1 distance, 0 (same) … 1 (disjoint). */
export const totalVariation = (a: EmotionScores, b: EmotionScores): number => {
  let d = 0
  for (const label of EMOTIONS) d += Math.abs(a[label] - b[label])
  return d / 2
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000

/** Mean distribution from sums over `n` frames (n > 0), rounded to 4 decimals. */
export const meanOf = (sums: ReadonlyArray<number>, n: number): EmotionScores => ({
  angry: round4(sums[0]! / n),
  disgust: round4(sums[1]! / n),
  fear: round4(sums[2]! / n),
  happy: round4(sums[3]! / n),
  sad: round4(sums[4]! / n),
  surprise: round4(sums[5]! / n),
  neutral: round4(sums[6]! / n)
})

export const dominantOf = (scores: EmotionScores): EmotionLabel => {
  let best: EmotionLabel = EMOTIONS[0]!
  for (const label of EMOTIONS) if (scores[label] > scores[best]) best = label
  return best
}

export const zeros = (): Array<number> => new Array<number>(EMOTION_COUNT).fill(0)
