import { describe, expect, it } from "@effect/vitest"
import { makeAnchors } from "../../src/inference/Anchors.ts"
import { type DetectorOptions, decodeDetections } from "../../src/inference/FaceDetector.ts"
import { letterbox } from "../../src/inference/FaceRegion.ts"

const anchors = makeAnchors()

/** The options the frame pipeline uses by default. */
const defaultDetectorOptions: DetectorOptions = { minScore: 0.5, iouThreshold: 0.3, maxFaces: 10 }

/** Raw detector outputs for one image: every anchor at a very low logit unless set. */
const outputs = () => ({ scores: new Float32Array(896).fill(-20), boxes: new Float32Array(896 * 16) })

/** Index of anchor `k` of the stride-16 cell (x, y). */
const anchor16 = (x: number, y: number, k = 0) => (y * 16 + x) * 2 + k

const set = (
  out: ReturnType<typeof outputs>,
  a: number,
  logit: number,
  box: [number, number, number, number],
  keypoint0: [number, number] = [0, 0]
) => {
  out.scores[a] = logit
  out.boxes.set(box, a * 16)
  out.boxes.set(keypoint0, a * 16 + 4)
}

describe("FaceDetector.decodeDetections", () => {
  // A 512×256 image letterboxed into the detector's square: 2 source pixels per detector pixel, 128 rows of padding.
  const view = letterbox(512, 256)

  it("decodes anchor offsets (divided by 256) into source pixels, keypoints relative to the anchor", () => {
    const out = outputs()
    const a = anchor16(8, 8)
    set(out, a, 3, [16, -8, 64, 32], [-24, 4])
    const [face, ...rest] = decodeDetections(out.scores, out.boxes, 0, anchors, view, defaultDetectorOptions)
    expect(rest).toEqual([])
    // anchor centre 8.5/16 of 256 = 136 detector px; x: 136 + 16 → 304 source px; y: (136 − 8)·2 − 128 rows of padding
    expect(face!.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6)
    expect(face!.x + face!.w / 2).toBeCloseTo(304, 4)
    expect(face!.y + face!.h / 2).toBeCloseTo(128, 4)
    expect(face!.w).toBeCloseTo(128, 4)
    expect(face!.h).toBeCloseTo(64, 4)
    expect(face!.keypoints[0]).toBeCloseTo((136 - 24) * 2, 4)
    expect(face!.keypoints[1]).toBeCloseTo((136 + 4) * 2 - 128, 4)
  })

  it("drops candidates under the score threshold", () => {
    const out = outputs()
    set(out, anchor16(3, 3), -1, [0, 0, 40, 40]) // sigmoid ≈ 0.27
    expect(decodeDetections(out.scores, out.boxes, 0, anchors, view, defaultDetectorOptions)).toEqual([])
    expect(
      decodeDetections(out.scores, out.boxes, 0, anchors, view, { ...defaultDetectorOptions, minScore: 0.2 })
    ).toHaveLength(1)
  })

  it("blends overlapping candidates by score (weighted NMS) and keeps separate faces apart", () => {
    const out = outputs()
    set(out, anchor16(8, 8, 0), 2, [0, 0, 60, 60])
    set(out, anchor16(8, 8, 1), 1, [8, 0, 60, 60])
    set(out, anchor16(2, 2), 0.5, [0, 0, 30, 30])
    const faces = decodeDetections(out.scores, out.boxes, 0, anchors, view, defaultDetectorOptions)
    expect(faces).toHaveLength(2)
    const [best, other] = faces
    const s1 = 1 / (1 + Math.exp(-2))
    const s2 = 1 / (1 + Math.exp(-1))
    // score is the best member's, the centre is the score-weighted mean: 136 + 8·s2/(s1+s2) detector px
    expect(best!.score).toBeCloseTo(s1, 6)
    expect(best!.x + best!.w / 2).toBeCloseTo((136 + (8 * s2) / (s1 + s2)) * 2, 3)
    expect(other!.x + other!.w / 2).toBeCloseTo(40 * 2, 3)
  })

  it("reads the requested batch item and caps the number of faces, best first", () => {
    const out = { scores: new Float32Array(896 * 2).fill(-20), boxes: new Float32Array(896 * 16 * 2) }
    for (let i = 0; i < 5; i++) {
      const a = 896 + anchor16(i * 3, 1)
      out.scores[a] = 1 + i
      out.boxes.set([0, 0, 20, 20], a * 16)
    }
    expect(decodeDetections(out.scores, out.boxes, 0, anchors, view, defaultDetectorOptions)).toEqual([])
    const faces = decodeDetections(out.scores, out.boxes, 1, anchors, view, { ...defaultDetectorOptions, maxFaces: 3 })
    expect(faces.map((f) => Math.round(((f.x + f.w / 2) / 2 - 8) / 16))).toEqual([12, 9, 6])
  })
})
