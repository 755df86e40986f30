import { describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import { colormap, heatmapPng, overlayHeatmap, upsampleMap } from "../../src/inference/Heatmap.ts"

describe("Heatmap", () => {
  it("upsamples with aligned pixel centres", () => {
    const map = upsampleMap([0, 1, 2, 3], 2, 2, 4)
    expect(map[0]).toBeCloseTo(0, 6) // corner holds the corner value
    expect(map[15]).toBeCloseTo(3, 6)
    expect(map[1]).toBeCloseTo(0.25, 6) // x 1.5/4·2 − 0.5 = 0.25 of the way to the right neighbour
    expect(upsampleMap([5], 1, 1, 3).every((v) => v === 5)).toBe(true)
  })

  it("colours low activations blue and high ones red", () => {
    const [r0, , b0] = colormap(0)
    const [r1, , b1] = colormap(1)
    expect(b0).toBeGreaterThan(r0)
    expect(r1).toBeGreaterThan(b1)
  })

  it("draws the hot spot over the crop where the map is high", () => {
    const crop = new Float32Array(4 * 4 * 3).fill(0.5)
    const map = new Float32Array(16)
    map[5] = 1
    const out = overlayHeatmap(crop, 4, map)
    expect(out[5 * 3]!).toBeGreaterThan(out[5 * 3 + 2]!) // red at the peak
    expect(out[0]!).toBeLessThan(out[2]!) // blue elsewhere
  })

  it("encodes a PNG of the crop's size", async () => {
    const png = await heatmapPng(new Float32Array(16 * 16 * 3), 16, new Float32Array(4).fill(1), 2, 2)
    const meta = await sharp(png).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 16, 16])
  })
})
