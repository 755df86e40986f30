import { describe, expect, it } from "@effect/vitest"
import sharp from "sharp"
import { DecodeError, decodeImage, grayFromCrop, type RgbImage, sampleRegion } from "../../src/inference/ImageOps.ts"
import { blankJpeg, hugeHeaderJpeg, singleFaceJpeg } from "./fixtures.ts"

const options = { maxPixels: 4096 * 4096, maxSide: 1920 }

/** A w×h image whose red channel is x·10, green y·10, blue 7. */
const ramp = (width: number, height: number): RgbImage => {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x * 10, y * 10, 7], (y * width + x) * 3)
  }
  return { data, width, height, sourceWidth: width, sourceHeight: height }
}

const failure = async (bytes: Uint8Array, opts = options) => {
  const error = await decodeImage(bytes, opts).then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(DecodeError)
  return (error as DecodeError).failure
}

describe("ImageOps.sampleRegion", () => {
  it("reproduces the pixels when the region is the image at its own size", () => {
    const image = ramp(8, 8)
    const out = new Float32Array(8 * 8 * 3)
    sampleRegion(image, { cx: 4, cy: 4, size: 8, angle: 0 }, 8, out, 0, 1, 0)
    expect(Array.from(out)).toEqual(Array.from(image.data))
  })

  it("interpolates bilinearly, normalises, and writes at the offset", () => {
    const image = ramp(8, 8)
    const out = new Float32Array(3 + 4 * 4 * 3).fill(-9)
    // the centre 4×4 pixels at their own size: crop pixel (0,0) is source pixel (2,2)
    sampleRegion(image, { cx: 4, cy: 4, size: 4, angle: 0 }, 4, out, 3, 1 / 255, 0)
    expect(out[0]).toBe(-9)
    expect(out[3]).toBeCloseTo(20 / 255, 6)
    expect(out[4]).toBeCloseTo(20 / 255, 6)
    // upsampled 2×: sample points fall between pixels
    const up = new Float32Array(8 * 8 * 3)
    sampleRegion(image, { cx: 4, cy: 4, size: 4, angle: 0 }, 8, up, 0, 1, 0)
    // crop pixel (1,0) has its centre at source x 2.75, a quarter of the way from pixel 2's centre to pixel 3's
    expect(up[3]).toBeCloseTo(22.5, 6)
  })

  it("rotates: a quarter turn maps the crop's x axis onto the image's y axis", () => {
    const image = ramp(8, 8)
    const out = new Float32Array(8 * 8 * 3)
    sampleRegion(image, { cx: 4, cy: 4, size: 8, angle: Math.PI / 2 }, 8, out, 0, 1, 0)
    // crop (u=5, v=3) → source x = 8 − 1 − 3 = 4, y = 5
    const o = (3 * 8 + 5) * 3
    expect(out[o]).toBeCloseTo(40, 4)
    expect(out[o + 1]).toBeCloseTo(50, 4)
  })

  it("gives the same samples inside the image as a plain bilinear reference, rotated or not", () => {
    const width = 32
    const height = 24
    const data = new Uint8Array(width * height * 3).map((_, i) => (i * 7919) % 251)
    const image: RgbImage = { data, width, height, sourceWidth: width, sourceHeight: height }
    const at = (x: number, y: number, c: number) => data[(y * width + x) * 3 + c]!
    for (const region of [
      { cx: 16, cy: 12, size: 12, angle: 0.3 },
      { cx: 15.3, cy: 11.7, size: 9, angle: 0 },
      // reaches past the edge: the bounds-checked path
      { cx: 6, cy: 6, size: 16, angle: -0.4 }
    ]) {
      const n = 10
      const out = new Float32Array(n * n * 3)
      sampleRegion(image, region, n, out, 0, 1, 0)
      const step = region.size / n
      for (let v = 0; v < n; v++) {
        for (let u = 0; u < n; u++) {
          const du = (u + 0.5) * step - region.size / 2
          const dv = (v + 0.5) * step - region.size / 2
          const x = region.cx + Math.cos(region.angle) * du - Math.sin(region.angle) * dv - 0.5
          const y = region.cy + Math.sin(region.angle) * du + Math.cos(region.angle) * dv - 0.5
          const ix = Math.floor(x)
          const iy = Math.floor(y)
          const fx = x - ix
          const fy = y - iy
          for (let c = 0; c < 3; c++) {
            const px = (xx: number, yy: number) => (xx < 0 || yy < 0 || xx >= width || yy >= height ? 0 : at(xx, yy, c))
            const expected =
              px(ix, iy) * (1 - fx) * (1 - fy) +
              px(ix + 1, iy) * fx * (1 - fy) +
              px(ix, iy + 1) * (1 - fx) * fy +
              px(ix + 1, iy + 1) * fx * fy
            expect(out[(v * n + u) * 3 + c]).toBeCloseTo(expected, 3)
          }
        }
      }
    }
  })

  it("treats the outside as black", () => {
    const image = ramp(4, 4)
    const out = new Float32Array(4 * 4 * 3)
    sampleRegion(image, { cx: 100, cy: 100, size: 4, angle: 0 }, 4, out, 0, 2 / 255, -1)
    expect(out.every((v) => v === -1)).toBe(true)
  })
})

describe("ImageOps.grayFromCrop", () => {
  it("averages whole blocks with the emotion model's weights, scaled to [-1, 1]", () => {
    const src = new Float32Array(6 * 6 * 3)
    for (let i = 0; i < 36; i++) src.set(i < 18 ? [1, 0, 0] : [0, 0, 1], i * 3) // top half red, bottom blue
    const out = new Float32Array(1 + 2 * 2)
    grayFromCrop(src, 0, 6, out, 1, 2)
    expect(out[1]).toBeCloseTo(0.2989 * 2 - 1, 5)
    expect(out[3]).toBeCloseTo(0.114 * 2 - 1, 5)
    expect(() => grayFromCrop(src, 0, 6, out, 0, 4)).toThrow()
  })
})

describe("ImageOps.decodeImage", () => {
  it("decodes JPEG, PNG and WebP to RGB", async () => {
    const jpeg = await singleFaceJpeg()
    for (const bytes of [jpeg, await sharp(jpeg).png().toBuffer(), await sharp(jpeg).webp().toBuffer()]) {
      const image = await decodeImage(bytes, options)
      expect([image.width, image.height, image.data.length]).toEqual([640, 480, 640 * 480 * 3])
      expect([image.sourceWidth, image.sourceHeight]).toEqual([640, 480])
    }
  })

  it("turns gray and RGBA input into RGB and decodes a 1×1 image", async () => {
    const gray = await sharp(await blankJpeg(32, 16))
      .grayscale()
      .png()
      .toBuffer()
    expect((await decodeImage(gray, options)).data.length).toBe(32 * 16 * 3)
    const rgba = await sharp({ create: { width: 5, height: 5, channels: 4, background: "#ff000080" } })
      .png()
      .toBuffer()
    expect((await decodeImage(rgba, options)).data.length).toBe(5 * 5 * 3)
    const one = await decodeImage(await blankJpeg(1, 1), options)
    expect([one.width, one.height]).toEqual([1, 1])
  })

  it("shrinks large images while decoding and reports the source size", async () => {
    const image = await decodeImage(await blankJpeg(1600, 800), { ...options, maxSide: 400 })
    expect([image.width, image.height, image.sourceWidth, image.sourceHeight]).toEqual([400, 200, 1600, 800])
  })

  it("rejects non-images and truncated JPEGs as Undecodable", async () => {
    expect((await failure(new TextEncoder().encode("definitely not an image"))).reason).toBe("Undecodable")
    const jpeg = await singleFaceJpeg()
    expect((await failure(jpeg.subarray(0, jpeg.length >> 1))).reason).toBe("Undecodable")
  })

  it("rejects images over the pixel limit as TooLarge before decoding them", async () => {
    expect((await failure(await hugeHeaderJpeg())).reason).toBe("TooLarge")
    expect((await failure(await blankJpeg(1200, 1000), { ...options, maxPixels: 1000 * 1000 })).reason).toBe("TooLarge")
  })
})
