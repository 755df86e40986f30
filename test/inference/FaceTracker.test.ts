import { describe, expect, it } from "@effect/vitest"
import { cropToSource, type FaceRegion, regionFromBox, regionFromLandmarks } from "../../src/inference/FaceRegion.ts"
import { dedupeFaces, detectionDue, emotionDue, mergeRegions, nextTrackState } from "../../src/inference/FaceTracker.ts"

const region = (cx: number, cy: number, size = 100): FaceRegion => ({ cx, cy, size, angle: 0 })

describe("FaceRegion", () => {
  it("maps crop corners and centre to the source, following the rotation", () => {
    const r: FaceRegion = { cx: 100, cy: 50, size: 40, angle: Math.PI / 2 }
    const [cx, cy] = cropToSource(r, 192, 96, 96)
    expect(cx).toBeCloseTo(100, 9)
    expect(cy).toBeCloseTo(50, 9)
    // the crop's x axis points down the image when the region is turned a quarter
    const [x, y] = cropToSource(r, 192, 192, 96)
    expect(x).toBeCloseTo(100, 9)
    expect(y).toBeCloseTo(70, 9)
  })

  it("squares and enlarges a detection box, levelled by the eyes only when asked", () => {
    const box = { x: 10, y: 20, w: 40, h: 60 }
    const eyes = [20, 40, 40, 60] as const // 45° tilt
    expect(regionFromBox(box, eyes, false)).toEqual({ cx: 30, cy: 50, size: 90, angle: 0 })
    expect(regionFromBox(box, eyes, true).angle).toBeCloseTo(Math.PI / 4, 9)
  })

  it("finds the same face region from landmarks whatever the head's tilt", () => {
    // a 'face' of 468 points on a 60×80 rectangle with the eye line (33 → 263) along its width
    const points = (angle: number) => {
      const out = new Float32Array(468 * 3)
      for (let i = 0; i < 468; i++) {
        const u = ((i % 13) / 12 - 0.5) * 60
        const v = (Math.floor(i / 13) / 35 - 0.5) * 80
        out[i * 3] = 200 + Math.cos(angle) * u - Math.sin(angle) * v
        out[i * 3 + 1] = 100 + Math.sin(angle) * u + Math.cos(angle) * v
      }
      // eye corners: same row, opposite sides
      const set = (i: number, u: number) => {
        out[i * 3] = 200 + Math.cos(angle) * u
        out[i * 3 + 1] = 100 + Math.sin(angle) * u
      }
      set(33, -20)
      set(263, 20)
      return out
    }
    const upright = regionFromLandmarks(points(0), true)
    const tilted = regionFromLandmarks(points(0.6), true)
    expect(upright.size).toBeCloseTo(80 * 1.5, 3)
    expect(tilted.size).toBeCloseTo(upright.size, 3)
    expect(tilted.angle).toBeCloseTo(0.6, 6)
    expect(tilted.cx).toBeCloseTo(200, 3)
    expect(tilted.cy).toBeCloseTo(100, 3)
    // without rotation the tilted face's axis-aligned box is larger
    expect(regionFromLandmarks(points(0.6), false).size).toBeGreaterThan(upright.size + 10)
  })
})

describe("FaceTracker", () => {
  it("detects when nothing is tracked, and then every N frames", () => {
    expect(detectionDue(null, 10)).toBe(true)
    expect(detectionDue({ sinceDetect: 0, faces: [] }, 10)).toBe(true)
    const tracked = { sinceDetect: 0, faces: [region(0, 0)] }
    expect(detectionDue(tracked, 10)).toBe(false)
    expect(detectionDue({ ...tracked, sinceDetect: 8 }, 10)).toBe(false)
    expect(detectionDue({ ...tracked, sinceDetect: 9 }, 10)).toBe(true)
    expect(detectionDue(tracked, 1)).toBe(true)
  })

  it("counts frames since the last detection", () => {
    const a = nextTrackState(null, true, [region(0, 0)])
    expect(a.sinceDetect).toBe(0)
    const b = nextTrackState(a, false, a.faces)
    const c = nextTrackState(b, false, b.faces)
    expect(c.sinceDetect).toBe(2)
    expect(nextTrackState(c, true, c.faces).sinceDetect).toBe(0)
  })

  it("measures emotion when none is known or every N frames", () => {
    const scores = { angry: 0, disgust: 0, fear: 0, happy: 1, sad: 0, surprise: 0, neutral: 0 }
    expect(emotionDue(null, 5)).toBe(true)
    expect([0, 1, 2, 3, 4].map((age) => emotionDue({ scores, age }, 5))).toEqual([false, false, false, false, true])
    expect(emotionDue({ scores, age: 0 }, 1)).toBe(true)
    const state = nextTrackState(null, true, [region(0, 0)], [{ scores, age: 2 }])
    expect(state.emotions).toEqual([{ scores, age: 2 }])
    expect(nextTrackState(state, false, state.faces)).not.toHaveProperty("emotions")
  })

  it("keeps tracked regions over detections of the same face and adds new faces up to the cap", () => {
    const tracked = [region(100, 100)]
    const detected = [region(105, 98), region(400, 100), region(700, 100)]
    expect(mergeRegions(tracked, detected, 10)).toEqual([region(100, 100), region(400, 100), region(700, 100)])
    expect(mergeRegions(tracked, detected, 2)).toEqual([region(100, 100), region(400, 100)])
  })

  it("keeps the better of two faces that converged on one, and the best up to the cap, in their order", () => {
    const faces = [
      { region: region(100, 100), score: 0.7, id: "a" },
      { region: region(103, 101), score: 0.9, id: "b" },
      { region: region(300, 100), score: 0.8, id: "c" },
      { region: region(500, 100), score: 0.6, id: "d" }
    ]
    expect(dedupeFaces(faces, 10).map((f) => f.id)).toEqual(["b", "c", "d"])
    expect(dedupeFaces(faces, 2).map((f) => f.id)).toEqual(["b", "c"])
    expect(dedupeFaces([faces[2]!, faces[3]!, faces[1]!], 10).map((f) => f.id)).toEqual(["c", "d", "b"])
  })
})
