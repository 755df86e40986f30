import { describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import { crc32, crc32Portable, encodePngRgb } from "../../src/inference/Png.ts"

/** Deterministic pixels: smooth ramps with noise, so every filter difference (including wrap-around) occurs. */
const pixels = (width: number, height: number, seed: number): Uint8Array => {
  const out = new Uint8Array(width * height * 3)
  let s = seed
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    out[i] = ((i * 7) % 256) ^ (s >>> 24)
  }
  return out
}

describe("Png", () => {
  it("writes PNGs a decoder reads back to the same pixels", async () => {
    for (const [width, height] of [
      [1, 1],
      [1, 7],
      [5, 1],
      [17, 9],
      [192, 192]
    ] as const) {
      const rgb = pixels(width, height, width * 31 + height)
      const png = encodePngRgb(rgb, width, height)
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
      expect([info.width, info.height, info.channels]).toEqual([width, height, 3])
      expect(Buffer.compare(data, Buffer.from(rgb))).toBe(0)
    }
  })

  it("refuses pixels that do not match the size", () => {
    expect(() => encodePngRgb(new Uint8Array(11), 2, 2)).toThrow(/2×2 RGB is 12 bytes, got 11/)
    expect(() => encodePngRgb(new Uint8Array(0), 0, 0)).toThrow(/positive whole size/)
  })

  it("computes the CRC-32 PNG chunks carry", () => {
    // The check value of CRC-32 (ISO 3309 / ITU-T V.42): "123456789" → 0xCBF43926.
    for (const f of [crc32, crc32Portable]) {
      expect(f(new TextEncoder().encode("123456789"))).toBe(0xcbf43926)
      expect(f(new Uint8Array(0))).toBe(0)
    }
    const bytes = pixels(40, 40, 3)
    expect(crc32Portable(bytes)).toBe(crc32(bytes))
  })
})
