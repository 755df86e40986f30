/**
 * How two analyses of the same frame agree, face by face: the bench's accuracy comparisons (decoders, frame
 * sizes) and the decoder-accuracy test use the same measures.
 */
import { EMOTIONS } from "../../schemas/Emotions.ts"
import type { Face } from "../../schemas/FrameAnalysis.ts"

/** Intersection over union of two `[x, y, width, height]` boxes. */
export const boxIoU = (a: Face["box"], b: Face["box"]): number => {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]))
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]))
  const inter = ix * iy
  const union = a[2] * a[3] + b[2] * b[3] - inter
  return union > 0 ? inter / union : 0
}

/** The face's most likely emotion (its emotions must have been measured). */
export const topEmotion = (face: Face): string =>
  EMOTIONS.reduce((best, label) => (face.emotion![label] > face.emotion![best] ? label : best), EMOTIONS[0])
