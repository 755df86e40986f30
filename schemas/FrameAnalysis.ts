import { Schema } from "effect"
import { EMOTIONS } from "./Emotions.ts"

/** The seven emotion classes, in the emotion model's output order. */
export const EmotionLabel = Schema.Literals(EMOTIONS)
export type EmotionLabel = typeof EmotionLabel.Type

/** Probability of each emotion class (they sum to 1). */
export const EmotionScores = Schema.Struct({
  angry: Schema.Number,
  disgust: Schema.Number,
  fear: Schema.Number,
  happy: Schema.Number,
  sad: Schema.Number,
  surprise: Schema.Number,
  neutral: Schema.Number
})
export type EmotionScores = typeof EmotionScores.Type

/** Eye aspect ratios from the face mesh; `left`/`right` follow the mesh index sets, `mean` is their average. */
export const EyeAspect = Schema.Struct({ left: Schema.Number, right: Schema.Number, mean: Schema.Number })
export type EyeAspect = typeof EyeAspect.Type

const Point = Schema.Tuple([Schema.Number, Schema.Number])

export const Face = Schema.Struct({
  /** x, y, width, height of the face landmarks' bounding box, in source pixels, clipped to the image. */
  box: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number, Schema.Number]),
  /** Face-mesh confidence that the region holds a face, 0…1. */
  score: Schema.Number,
  ear: EyeAspect,
  eyesClosed: Schema.Boolean,
  /** null when affect analysis is off for the frame. */
  emotion: Schema.NullOr(EmotionScores),
  /**
   * true: `emotion` was measured on an earlier frame of this tracked face and carried over (the emotion model
   * runs on a tracked face only every few frames); absent when it was measured on this frame.
   */
  emotionCarried: Schema.optionalKey(Schema.Boolean),
  /** Subject's right eye, left eye, nose tip, mouth centre, right and left face edge, in source pixels. */
  keypoints: Schema.optionalKey(Schema.Array(Point))
})
export type Face = typeof Face.Type

/**
 * Milliseconds per stage. Model stages run batched across all frames of a worker task; a frame is charged its
 * share (by face count for mesh and emotion). `totalMs` is the frame's share of the whole task in the worker.
 */
export const StageTimings = Schema.Struct({
  decodeMs: Schema.Number,
  detectMs: Schema.Number,
  meshMs: Schema.Number,
  emotionMs: Schema.Number,
  totalMs: Schema.Number
})
export type StageTimings = typeof StageTimings.Type

/** Class-activation heat-map of the first face's top emotion, drawn over its crop (PNG). */
export const Heatmap = Schema.Struct({ emotion: EmotionLabel, png: Schema.Uint8Array })
export type Heatmap = typeof Heatmap.Type

/** Everything the inference runtime says about one video frame. */
export const FrameAnalysis = Schema.Struct({
  seq: Schema.Number,
  capturedAt: Schema.Number,
  /** Source image size in pixels (after EXIF orientation). */
  width: Schema.Number,
  height: Schema.Number,
  /**
   * At most the configured maximum. Faces tracked from the previous frame keep their position; new faces follow.
   */
  faces: Schema.Array(Face),
  timings: StageTimings,
  /** Whether the face detector ran on this frame (false: faces were tracked from the previous frame). */
  detectorRan: Schema.Boolean,
  heatmap: Schema.optionalKey(Heatmap)
})
export type FrameAnalysis = typeof FrameAnalysis.Type
