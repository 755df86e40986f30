import sharp from "sharp"
import type { FaceRegion } from "./FaceRegion.ts"

/** A decoded image: interleaved 8-bit RGB plus the factor that maps its pixels back to the source's. */
export interface RgbImage {
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
  /** Source dimensions after EXIF orientation; differ from width/height only when decoding shrank the image. */
  readonly sourceWidth: number
  readonly sourceHeight: number
}

export interface DecodeOptions {
  /** Images with more pixels are refused before decoding (sharp's `limitInputPixels`). */
  readonly maxPixels: number
  /** Longer images are shrunk while decoding (JPEG shrink-on-load); faces stay big enough for 192-pixel crops. */
  readonly maxSide: number
}

export type DecodeFailure = { readonly reason: "Undecodable" | "TooLarge"; readonly message: string }

export class DecodeError extends Error {
  constructor(readonly failure: DecodeFailure) {
    super(failure.message)
  }
}

/**
 * Decodes any format sharp reads (JPEG, PNG, WebP, …) once, to raw sRGB without alpha. Everything after this
 * samples the buffer in plain JS: at webcam sizes further sharp calls cost more than they save.
 */
export const decodeImage = async (bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> => {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: options.maxPixels, failOn: "error" })
      .autoOrient()
      .resize({ width: options.maxSide, height: options.maxSide, fit: "inside", withoutEnlargement: true })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true })
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels after decoding`)
    let sourceWidth = info.width
    let sourceHeight = info.height
    // Only an image at the size cap can have been shrunk; ask for its true size only then.
    if (Math.max(info.width, info.height) >= options.maxSide) {
      const meta = await sharp(bytes, { limitInputPixels: options.maxPixels }).metadata()
      sourceWidth = meta.autoOrient.width
      sourceHeight = meta.autoOrient.height
    }
    return { data, width: info.width, height: info.height, sourceWidth, sourceHeight }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new DecodeError({ reason: /pixel limit/i.test(message) ? "TooLarge" : "Undecodable", message })
  }
}

/**
 * Samples `region` of `image` into an `outSize`² RGB crop (NHWC) at `dst[offset…]`, bilinear with black outside
 * the image, each channel written as `value × mul + add` (so one pass also normalises for the model).
 */
export const sampleRegion = (
  image: RgbImage,
  region: FaceRegion,
  outSize: number,
  dst: Float32Array,
  offset: number,
  mul: number,
  add: number
): void => {
  const { data, width, height } = image
  const step = region.size / outSize
  const cos = Math.cos(region.angle) * step
  const sin = Math.sin(region.angle) * step
  // Source position of crop pixel centre (0.5, 0.5), shifted so that integer coordinates are pixel centres.
  const half = outSize / 2 - 0.5
  const x0 = region.cx - (cos * half - sin * half) - 0.5
  const y0 = region.cy - (sin * half + cos * half) - 0.5
  const stride = width * 3
  const last = outSize - 1
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width - 1 && y < height - 1
  // The mapping is affine, so when the four corner samples are inside the image every sample is: the usual case
  // for a face crop, and a loop without bounds tests is markedly faster.
  if (
    inside(x0, y0) &&
    inside(x0 + cos * last, y0 + sin * last) &&
    inside(x0 - sin * last, y0 + cos * last) &&
    inside(x0 + (cos - sin) * last, y0 + (sin + cos) * last)
  ) {
    sampleInside(data, stride, x0, y0, cos, sin, outSize, dst, offset, mul, add)
    return
  }
  let o = offset
  for (let v = 0; v < outSize; v++) {
    let sx = x0 - sin * v
    let sy = y0 + cos * v
    for (let u = 0; u < outSize; u++, sx += cos, sy += sin, o += 3) {
      if (sx >= 0 && sy >= 0 && sx < width - 1 && sy < height - 1) {
        // Truncation is floor here (non-negative and in range), and much cheaper than Math.floor.
        const ix = sx | 0
        const iy = sy | 0
        const fx = sx - ix
        const fy = sy - iy
        const i00 = (iy * width + ix) * 3
        const i01 = i00 + stride
        // Weights carry the normalisation factor, saving a multiply per channel.
        const w00 = (1 - fx) * (1 - fy) * mul
        const w10 = fx * (1 - fy) * mul
        const w01 = (1 - fx) * fy * mul
        const w11 = fx * fy * mul
        dst[o] = data[i00]! * w00 + data[i00 + 3]! * w10 + data[i01]! * w01 + data[i01 + 3]! * w11 + add
        dst[o + 1] = data[i00 + 1]! * w00 + data[i00 + 4]! * w10 + data[i01 + 1]! * w01 + data[i01 + 4]! * w11 + add
        dst[o + 2] = data[i00 + 2]! * w00 + data[i00 + 5]! * w10 + data[i01 + 2]! * w01 + data[i01 + 5]! * w11 + add
      } else if (sx < -1 || sy < -1 || sx >= width || sy >= height) {
        dst[o] = add
        dst[o + 1] = add
        dst[o + 2] = add
      } else {
        sampleEdge(data, width, height, sx, sy, dst, o, mul, add)
      }
    }
  }
}

/** `sampleRegion` when every sample's four neighbours lie inside the image. */
const sampleInside = (
  data: Uint8Array,
  stride: number,
  x0: number,
  y0: number,
  cos: number,
  sin: number,
  outSize: number,
  dst: Float32Array,
  offset: number,
  mul: number,
  add: number
): void => {
  let o = offset
  for (let v = 0; v < outSize; v++) {
    let sx = x0 - sin * v
    let sy = y0 + cos * v
    for (let u = 0; u < outSize; u++, sx += cos, sy += sin, o += 3) {
      const ix = sx | 0
      const iy = sy | 0
      const fx = sx - ix
      const fy = sy - iy
      const i00 = iy * stride + ix * 3
      const i01 = i00 + stride
      const gx = 1 - fx
      const w01 = fy * mul
      const w00 = mul - w01
      const a = gx * w00
      const b = fx * w00
      const c = gx * w01
      const d = fx * w01
      dst[o] = data[i00]! * a + data[i00 + 3]! * b + data[i01]! * c + data[i01 + 3]! * d + add
      dst[o + 1] = data[i00 + 1]! * a + data[i00 + 4]! * b + data[i01 + 1]! * c + data[i01 + 4]! * d + add
      dst[o + 2] = data[i00 + 2]! * a + data[i00 + 5]! * b + data[i01 + 2]! * c + data[i01 + 5]! * d + add
    }
  }
}

/** Bilinear sample on the image's edge, where some of the four neighbours fall outside and count as black. */
const sampleEdge = (
  data: Uint8Array,
  width: number,
  height: number,
  sx: number,
  sy: number,
  dst: Float32Array,
  o: number,
  mul: number,
  add: number
): void => {
  const ix = Math.floor(sx)
  const iy = Math.floor(sy)
  const fx = sx - ix
  const fy = sy - iy
  let r = 0
  let g = 0
  let b = 0
  for (let k = 0; k < 4; k++) {
    const x = ix + (k & 1)
    const y = iy + (k >> 1)
    if (x < 0 || y < 0 || x >= width || y >= height) continue
    const w = ((k & 1) === 1 ? fx : 1 - fx) * (k >> 1 === 1 ? fy : 1 - fy)
    const i = (y * width + x) * 3
    r += data[i]! * w
    g += data[i + 1]! * w
    b += data[i + 2]! * w
  }
  dst[o] = r * mul + add
  dst[o + 1] = g * mul + add
  dst[o + 2] = b * mul + add
}

/** Gray weights of the emotion model (ITU-R BT.601 luma). */
const GRAY_R = 0.2989
const GRAY_G = 0.587
const GRAY_B = 0.114

/**
 * Shrinks an RGB crop in [0,1] (`inSize`², NHWC) by an integer factor to gray fed as `(g − 0.5) × 2`. Averaging
 * whole blocks is an exact area filter: the emotion crop comes out of the mesh crop without aliasing and
 * without sampling the source again.
 */
export const grayFromCrop = (
  src: Float32Array,
  srcOffset: number,
  inSize: number,
  dst: Float32Array,
  dstOffset: number,
  outSize: number
): void => {
  const f = inSize / outSize
  if (!Number.isInteger(f)) throw new Error(`crop size ${inSize} is not a multiple of ${outSize}`)
  const norm = 2 / (f * f)
  for (let v = 0; v < outSize; v++) {
    for (let u = 0; u < outSize; u++) {
      let sum = 0
      for (let y = v * f; y < (v + 1) * f; y++) {
        let i = srcOffset + (y * inSize + u * f) * 3
        for (let x = 0; x < f; x++, i += 3) sum += src[i]! * GRAY_R + src[i + 1]! * GRAY_G + src[i + 2]! * GRAY_B
      }
      dst[dstOffset + v * outSize + u] = sum * norm - 1
    }
  }
}

/** A Float32Array that grows to the largest batch seen and is then reused, so steady state allocates nothing. */
export class GrowableBuffer {
  private buffer = new Float32Array(0)
  constructor(private readonly itemSize: number) {}
  /** A view holding `items` items; its content is whatever the previous batch left. */
  take(items: number): Float32Array {
    const need = items * this.itemSize
    if (this.buffer.length < need) this.buffer = new Float32Array(Math.max(need, this.buffer.length * 2))
    return this.buffer.subarray(0, need)
  }
}
