import { Blazeface } from "./ModelSpec.ts"
import { cropToSource, type FaceRegion } from "./FaceRegion.ts"

/** A detected face in source pixels: box and the detector's six keypoints (eyes, nose, mouth, ears). */
export interface Detection {
  readonly score: number
  readonly x: number
  readonly y: number
  readonly w: number
  readonly h: number
  /** x,y pairs: right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides). */
  readonly keypoints: readonly number[]
}

export interface DetectorOptions {
  /** Minimum face probability (after sigmoid). */
  readonly minScore: number
  /** Overlap above which detections are merged into one face. */
  readonly iouThreshold: number
  readonly maxFaces: number
}

interface Candidate {
  readonly score: number
  /** xmin, ymin, xmax, ymax, then keypoints, all normalised to the detector input. */
  readonly values: Float64Array
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, x))))

const iou = (a: Float64Array, b: Float64Array): number => {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!))
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!))
  const inter = ix * iy
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter
  return union > 0 ? inter / union : 0
}

/**
 * Decodes one batch item of the detector's raw outputs into faces in source pixels: sigmoid, threshold,
 * anchor decoding, then MediaPipe's weighted NMS (overlapping candidates are averaged by score, which steadies
 * boxes between frames far better than keeping only the best one).
 * `view` is the region of the source the detector saw (the letterboxed image).
 */
export const decodeDetections = (
  scores: Float32Array,
  boxes: Float32Array,
  item: number,
  anchors: Float32Array,
  view: FaceRegion,
  options: DetectorOptions
): Array<Detection> => {
  const count = Blazeface.anchors
  const stride = Blazeface.boxValues
  const size = Blazeface.inputSize
  const candidates: Array<Candidate> = []
  for (let a = 0; a < count; a++) {
    const score = sigmoid(scores[item * count + a]!)
    if (score < options.minScore) continue
    const r = (item * count + a) * stride
    const ax = anchors[a * 2]!
    const ay = anchors[a * 2 + 1]!
    const cx = boxes[r]! / size + ax
    const cy = boxes[r + 1]! / size + ay
    const w = boxes[r + 2]! / size
    const h = boxes[r + 3]! / size
    const values = new Float64Array(4 + Blazeface.keypoints * 2)
    values[0] = cx - w / 2
    values[1] = cy - h / 2
    values[2] = cx + w / 2
    values[3] = cy + h / 2
    for (let k = 0; k < Blazeface.keypoints; k++) {
      values[4 + k * 2] = boxes[r + 4 + k * 2]! / size + ax
      values[5 + k * 2] = boxes[r + 5 + k * 2]! / size + ay
    }
    candidates.push({ score, values })
  }
  return weightedNms(candidates, options).map((c) => toSource(c, view))
}

const weightedNms = (candidates: Array<Candidate>, options: DetectorOptions): Array<Candidate> => {
  const remaining = candidates.sort((a, b) => b.score - a.score)
  const kept: Array<Candidate> = []
  while (remaining.length > 0 && kept.length < options.maxFaces) {
    const top = remaining[0]!
    const blended = new Float64Array(top.values.length)
    let total = 0
    for (let i = remaining.length - 1; i >= 0; i--) {
      const c = remaining[i]!
      if (i > 0 && iou(top.values, c.values) <= options.iouThreshold) continue
      for (let k = 0; k < blended.length; k++) blended[k]! += c.values[k]! * c.score
      total += c.score
      remaining.splice(i, 1)
    }
    for (let k = 0; k < blended.length; k++) blended[k]! /= total
    kept.push({ score: top.score, values: blended })
  }
  return kept
}

const toSource = (c: Candidate, view: FaceRegion): Detection => {
  const size = Blazeface.inputSize
  const point = (x: number, y: number) => cropToSource(view, size, x * size, y * size)
  const [x0, y0] = point(c.values[0]!, c.values[1]!)
  const [x1, y1] = point(c.values[2]!, c.values[3]!)
  const keypoints: Array<number> = []
  for (let k = 0; k < Blazeface.keypoints; k++) keypoints.push(...point(c.values[4 + k * 2]!, c.values[5 + k * 2]!))
  return { score: c.score, x: x0, y: y0, w: x1 - x0, h: y1 - y0, keypoints }
}
