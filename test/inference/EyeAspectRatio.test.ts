import { describe, expect, it } from "@effect/vitest"
import { eyeAspect, eyeAspectRatio, LEFT_EYE, RIGHT_EYE } from "../../src/inference/EyeAspectRatio.ts"

/** A mesh with every landmark at the origin except the given ones. */
const mesh = (points: Record<number, [number, number]>): Float32Array => {
  const out = new Float32Array(468 * 3)
  for (const [i, [x, y]] of Object.entries(points)) {
    out[Number(i) * 3] = x
    out[Number(i) * 3 + 1] = y
    out[Number(i) * 3 + 2] = 99 // depth must not count
  }
  return out
}

/** An eye 30 wide whose lids are `open` apart, placed at (x, 0). */
const eye = (indices: ReadonlyArray<number>, x: number, open: number): Record<number, [number, number]> => {
  const [p1, p2, p3, p4, p5, p6] = indices as [number, number, number, number, number, number]
  return {
    [p1]: [x, 0],
    [p4]: [x + 30, 0],
    [p2]: [x + 10, -open / 2],
    [p6]: [x + 10, open / 2],
    [p3]: [x + 20, -open / 2],
    [p5]: [x + 20, open / 2]
  }
}

describe("EyeAspectRatio", () => {
  it("is (|p2−p6| + |p3−p5|) / (2·|p1−p4|)", () => {
    const m = mesh({ ...eye(LEFT_EYE, 0, 9), ...eye(RIGHT_EYE, 100, 3) })
    expect(eyeAspectRatio(m, LEFT_EYE)).toBeCloseTo(0.3, 6)
    expect(eyeAspectRatio(m, RIGHT_EYE)).toBeCloseTo(0.1, 6)
    const both = eyeAspect(m)
    expect(both.left).toBeCloseTo(0.3, 6)
    expect(both.right).toBeCloseTo(0.1, 6)
    expect(both.mean).toBeCloseTo(0.2, 6)
  })

  it("does not change when the face is rotated or scaled", () => {
    const m = mesh(eye(LEFT_EYE, 0, 9))
    const turned = new Float32Array(m.length)
    const a = 0.7
    for (let i = 0; i < m.length; i += 3) {
      turned[i] = 3 * (Math.cos(a) * m[i]! - Math.sin(a) * m[i + 1]!) + 50
      turned[i + 1] = 3 * (Math.sin(a) * m[i]! + Math.cos(a) * m[i + 1]!) - 20
    }
    expect(eyeAspectRatio(turned, LEFT_EYE)).toBeCloseTo(0.3, 5)
  })

  it("is 0 for a degenerate eye instead of NaN or Infinity", () => {
    expect(eyeAspectRatio(new Float32Array(468 * 3), LEFT_EYE)).toBe(0)
  })
})
