/**
 * How two analyses of the same frame agree, face by face: the bench's accuracy comparisons (decoders, frame
 * sizes) and the decoder-accuracy test use the same measures.
 */
import { EMOTIONS } from "../../schemas/Emotions.ts"
import type { Face } from "../../schemas/FrameAnalysis.ts"
import type { TrackState } from "../inference/FaceTracker.ts"
import { analyzeFrames, type Pipeline } from "../inference/FramePipeline.ts"
import type { FrameJob } from "../inference/WorkerProtocol.ts"

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

/**
 * One frame through a pipeline in this thread, emotions on and no heat-map, continuing `track` (null: from
 * scratch); fails unless the frame is analysed. The pipeline gets its own copy of the bytes.
 */
export const analyseOne = async (p: Pipeline, bytes: Uint8Array, track: TrackState | null) => {
  const job: FrameJob = {
    seq: 0,
    capturedAt: 0,
    offset: 0,
    length: bytes.byteLength,
    affect: true,
    heatmap: false,
    track
  }
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  const [outcome] = await analyzeFrames(p, copy.buffer, [job])
  if (outcome?._tag !== "Analyzed") throw new Error(`expected an analysis, got ${JSON.stringify(outcome)}`)
  return outcome
}
