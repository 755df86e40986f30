/** Synthetic frame analyses for scorer and session tests. */
import type { EmotionScores, Face, FrameAnalysis } from "../../../schemas/FrameAnalysis.ts"

export const neutral: EmotionScores = { angry: 0, disgust: 0, fear: 0, happy: 0, sad: 0, surprise: 0, neutral: 1 }
export const happy: EmotionScores = { angry: 0, disgust: 0, fear: 0, happy: 0.9, sad: 0, surprise: 0, neutral: 0.1 }

export const face = (ear = 0.3, emotion: EmotionScores | null = neutral): Face => ({
  box: [100, 80, 200, 220],
  score: 0.98,
  ear: { left: ear, right: ear, mean: ear },
  eyesClosed: ear < 0.2,
  emotion
})

export const analysis = (seq: number, capturedAt: number, faces: ReadonlyArray<Face>): FrameAnalysis => ({
  seq,
  capturedAt,
  width: 640,
  height: 480,
  faces,
  timings: { decodeMs: 1, detectMs: 1, meshMs: 1, emotionMs: 1, totalMs: 4 },
  detectorRan: true
})
