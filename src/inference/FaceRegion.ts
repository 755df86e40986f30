/**
 * A square, possibly rotated, region of the source image: the unit every crop in the pipeline is cut from.
 * `angle` (radians) is the direction of the region's x axis in image coordinates (y down), so a crop of the
 * region comes out upright when the angle follows the eye line.
 */
export interface FaceRegion {
  readonly cx: number
  readonly cy: number
  readonly size: number
  readonly angle: number
}

/** Landmark indices used to level the face: the outer corners of the two eyes (MediaPipe's choice). */
export const EYE_LINE: readonly [number, number] = [33, 263]

/**
 * How far a region extends beyond the face. MediaPipe uses 1.5 around both the detection box and the
 * landmarks' box; the face mesh was trained on crops of that margin.
 */
export const REGION_SCALE = 1.5

/** Below this tilt the crop stays axis-aligned: a tiny rotation buys nothing and makes boxes jitter. */
const MIN_ANGLE = 0.05

const level = (angle: number): number => (Math.abs(angle) < MIN_ANGLE ? 0 : angle)

/** Maps a point of an `outSize`×`outSize` crop of `region` (continuous pixel coordinates) to the source. */
export const cropToSource = (region: FaceRegion, outSize: number, u: number, v: number): [number, number] => {
  const dx = u / outSize - 0.5
  const dy = v / outSize - 0.5
  const cos = Math.cos(region.angle)
  const sin = Math.sin(region.angle)
  return [region.cx + region.size * (cos * dx - sin * dy), region.cy + region.size * (sin * dx + cos * dy)]
}

/** The whole image letterboxed into a square (the detector's view). */
export const letterbox = (width: number, height: number): FaceRegion => ({
  cx: width / 2,
  cy: height / 2,
  size: Math.max(width, height),
  angle: 0
})

/**
 * Region for the face mesh from a detection: centred on the box, its longer side scaled by `scale`,
 * levelled by the two eye keypoints (keypoint 0 and 1 of the detector).
 */
export const regionFromBox = (
  box: { readonly x: number; readonly y: number; readonly w: number; readonly h: number },
  eyes: readonly [number, number, number, number] | null,
  rotate: boolean,
  scale = REGION_SCALE
): FaceRegion => ({
  cx: box.x + box.w / 2,
  cy: box.y + box.h / 2,
  size: Math.max(box.w, box.h) * scale,
  angle: rotate && eyes !== null ? level(Math.atan2(eyes[3] - eyes[1], eyes[2] - eyes[0])) : 0
})

/** Axis-aligned bounding box of 2-D points stored as xyz triples. */
export const landmarkBox = (points: ArrayLike<number>): { x: number; y: number; w: number; h: number } => {
  let minX = Number.POSITIVE_INFINITY
  let minY = Number.POSITIVE_INFINITY
  let maxX = Number.NEGATIVE_INFINITY
  let maxY = Number.NEGATIVE_INFINITY
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i]!
    const y = points[i + 1]!
    if (x < minX) minX = x
    if (x > maxX) maxX = x
    if (y < minY) minY = y
    if (y > maxY) maxY = y
  }
  return { x: minX, y: minY, w: maxX - minX, h: maxY - minY }
}

/**
 * Region for the next frame from this frame's landmarks (MediaPipe's tracking step). The box is measured in
 * the face's own frame (rotated by the eye line) so a tilted head does not inflate it.
 */
export const regionFromLandmarks = (points: ArrayLike<number>, rotate: boolean, scale = REGION_SCALE): FaceRegion => {
  const [a, b] = EYE_LINE
  const angle = rotate ? level(Math.atan2(points[b * 3 + 1]! - points[a * 3 + 1]!, points[b * 3]! - points[a * 3]!)) : 0
  const cos = Math.cos(angle)
  const sin = Math.sin(angle)
  let minU = Number.POSITIVE_INFINITY
  let minV = Number.POSITIVE_INFINITY
  let maxU = Number.NEGATIVE_INFINITY
  let maxV = Number.NEGATIVE_INFINITY
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i]!
    const y = points[i + 1]!
    const u = cos * x + sin * y
    const v = -sin * x + cos * y
    if (u < minU) minU = u
    if (u > maxU) maxU = u
    if (v < minV) minV = v
    if (v > maxV) maxV = v
  }
  const cu = (minU + maxU) / 2
  const cv = (minV + maxV) / 2
  return {
    cx: cos * cu - sin * cv,
    cy: sin * cu + cos * cv,
    size: Math.max(maxU - minU, maxV - minV) * scale,
    angle
  }
}

/** Intersection over union of the regions' axis-aligned squares (rotation ignored: used only to match faces). */
export const regionIoU = (a: FaceRegion, b: FaceRegion): number => {
  const ix = Math.max(
    0,
    Math.min(a.cx + a.size / 2, b.cx + b.size / 2) - Math.max(a.cx - a.size / 2, b.cx - b.size / 2)
  )
  const iy = Math.max(
    0,
    Math.min(a.cy + a.size / 2, b.cy + b.size / 2) - Math.max(a.cy - a.size / 2, b.cy - b.size / 2)
  )
  const inter = ix * iy
  const union = a.size * a.size + b.size * b.size - inter
  return union > 0 ? inter / union : 0
}
