import { describe, expect, it } from "@effect/vitest"
import { cropToSource, type FaceRegion, regionFromBox, regionFromLandmarks } from "../../src/inference/FaceRegion.ts"
import {
  dedupeFaces,
  detectionDue,
  detectionPhase,
  emotionDue,
  mergeRegions,
  nextTrackState
} from "../../src/inference/FaceTracker.ts"

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

  it("starts a newly found face at its phase of the detection cycle, so sessions started together detect apart", () => {
    const found = nextTrackState(null, true, [region(0, 0)], undefined, 7)
    expect(found.sinceDetect).toBe(7)
    // A periodic detection of a face already tracked restarts the cycle at 0; a face found again after none, at its phase.
    expect(nextTrackState(found, true, found.faces, undefined, 7).sinceDetect).toBe(0)
    const lost = nextTrackState(found, true, [], undefined, 7)
    expect(nextTrackState(lost, true, [region(0, 0)], undefined, 3).sinceDetect).toBe(3)

    // 50 sessions whose first frames were captured within 200 ms, detector every 30 frames.
    const phases = Array.from({ length: 50 }, (_, i) => detectionPhase(1_765_000_000_000 + i * 4, 30))
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...phases)).toBeLessThan(15)
    // No frame of the cycle carries more than a fifth of them (all 50 on one frame before).
    const perFrame = phases.reduce((m, p) => m.set(p, (m.get(p) ?? 0) + 1), new Map<number, number>())
    expect(perFrame.size).toBeGreaterThanOrEqual(10)
    expect(Math.max(...perFrame.values())).toBeLessThanOrEqual(10)
    // Each still detects within its cycle: from phase p, the detector is due after 30 − p frames.
    for (const p of phases) {
      let state = nextTrackState(null, true, [region(0, 0)], undefined, p)
      let frames = 1
      while (!detectionDue(state, 30)) {
        state = nextTrackState(state, false, state.faces)
        frames++
      }
      expect(frames).toBe(30 - p)
    }
    expect(detectionPhase(1_765_000_000_000, 1)).toBe(0)
    expect(detectionPhase(1_765_000_000_000, 3)).toBe(0)
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
