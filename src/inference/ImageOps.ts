import sharp from "sharp"
import type { FaceRegion } from "./FaceRegion.ts"
import { decodeJpegRgb } from "./TurboJpeg.ts"

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
  /**
   * "turbo": plain baseline JPEGs (the frames browsers send) go straight to libjpeg-turbo on the calling thread,
   * everything else to sharp; "sharp": every image through sharp (the reference path).
   */
  readonly decoder?: Decoder
  /**
   * Where the turbo decoder writes the pixels (exactly `bytes` long); a fresh array when absent. Reusing buffers
   * saves ≈ 0.3 ms a 640×480 frame: a fresh 0.9 MB array is zero-filled and faulted in page by page each time.
   */
  readonly allocate?: (bytes: number) => Uint8Array
}

export type Decoder = "turbo" | "sharp"

export type DecodeFailure = { readonly reason: "Undecodable" | "TooLarge"; readonly message: string }

export class DecodeError extends Error {
  constructor(readonly failure: DecodeFailure) {
    super(failure.message)
  }
}

/**
 * Decodes an image once to raw sRGB without alpha: with the "turbo" decoder (the default) a plain JPEG through
 * `decodeJpegTurbo`, anything else through `decodeWithSharp`. Everything after this samples the buffer in plain
 * JS: at webcam sizes further decoder calls cost more than they save.
 */
export const decodeImage = async (bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> =>
  (options.decoder === "sharp" ? undefined : decodeJpegTurbo(bytes, options)) ?? decodeWithSharp(bytes, options)

/**
 * Pixel buffers lent to the frames of one task and taken back when it ends, so that steady state decodes into
 * memory already mapped. A free list rather than one buffer per batch slot: tasks may overlap in a worker.
 */
export class PixelBuffers {
  private readonly free: Array<Uint8Array> = []
  /** Lends a buffer of exactly `bytes` (a view of a larger one when it fits); `lent` records it for `giveBack`. */
  lend(bytes: number, lent: Array<Uint8Array>): Uint8Array {
    const k = this.free.findIndex((b) => b.length >= bytes)
    const buffer = k >= 0 ? this.free.splice(k, 1)[0]! : new Uint8Array(bytes)
    lent.push(buffer)
    return buffer.subarray(0, bytes)
  }
  /** Takes back what `lent` holds; keeps at most `keep` buffers (a batch's worth). */
  giveBack(lent: Array<Uint8Array>, keep = 8): void {
    for (const buffer of lent) if (this.free.length < keep) this.free.push(buffer)
    lent.length = 0
  }
}

/**
 * Decodes any format sharp reads (JPEG, PNG, WebP, …), applying EXIF orientation, embedded colour profiles and
 * the `maxSide` shrink. The reference path: every other decoder must give the same pixels (within rounding).
 */
export const decodeWithSharp = async (bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> => {
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

/** What `jpegLayout` learns from a JPEG's markers before its first scan. */
interface JpegLayout {
  readonly width: number
  readonly height: number
  /** Baseline (or extended sequential) Huffman, 8-bit, three components, no Adobe colour transform flag. */
  readonly plain: boolean
  /** EXIF orientation other than 1, or an embedded ICC profile other than sRGB: sharp would change the pixels. */
  readonly needsSharp: boolean
}

const readU16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!

const ascii = (b: Uint8Array, start: number, length: number): string =>
  start + length <= b.length ? String.fromCharCode(...b.subarray(start, start + length)) : ""

/** EXIF orientation (1–8) from an APP1 segment's payload, 1 when there is none. */
const exifOrientation = (b: Uint8Array, start: number, end: number): number => {
  // "Exif\0\0", then a TIFF header: byte order, 42, offset of IFD0.
  if (end - start < 14 || b[start] !== 0x45 || b[start + 1] !== 0x78 || b[start + 2] !== 0x69 || b[start + 3] !== 0x66)
    return 1
  const tiff = start + 6
  const little = b[tiff] === 0x49
  const u16 = (i: number) => (little ? b[i]! | (b[i + 1]! << 8) : readU16(b, i))
  const u32 = (i: number) => (little ? u16(i) + u16(i + 2) * 65536 : u16(i) * 65536 + u16(i + 2))
  const ifd = tiff + u32(tiff + 4)
  if (ifd + 2 > end) return 1
  const count = u16(ifd)
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + k * 12
    if (entry + 12 > end) return 1
    if (u16(entry) === 0x0112) return u16(entry + 8)
  }
  return 1
}

/**
 * Walks a JPEG's markers up to its first scan (a few dozen bytes of work); undefined when the bytes are not a
 * JPEG this reader understands (left to sharp, which also reports what is wrong with them).
 */
export const jpegLayout = (b: Uint8Array): JpegLayout | undefined => {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined
  let i = 2
  let needsSharp = false
  let frame: { width: number; height: number; plain: boolean } | undefined
  let adobeTransform = false
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined
    const marker = b[i + 1]!
    if (marker === 0xff) {
      i++
      continue
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2
      continue
    }
    const length = readU16(b, i + 2)
    const start = i + 4
    const end = i + 2 + length
    if (length < 2 || end > b.length) return undefined
    if (marker === 0xda) break
    if (marker === 0xe1) {
      const orientation = exifOrientation(b, start, end)
      if (orientation !== 1) needsSharp = true
    } else if (marker === 0xe2 && ascii(b, start, 11) === "ICC_PROFILE") {
      // Chunk 1 holds the profile's header; the common "IEC sRGB" profile leaves the pixels as they are.
      if (b[start + 12] === 1 && ascii(b, start + 14 + 48, 8) !== "IEC sRGB") needsSharp = true
    } else if (marker === 0xee && end - start >= 12 && b[start] === 0x41 && b[start + 1] === 0x64) {
      // Adobe APP14: a transform flag other than 1 (YCbCr) means RGB or YCCK data.
      adobeTransform = b[start + 11] !== 1
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (end - start < 6 || frame !== undefined) return undefined
      frame = {
        height: readU16(b, start + 1),
        width: readU16(b, start + 3),
        plain: (marker === 0xc0 || marker === 0xc1) && b[start] === 8 && b[start + 5] === 3
      }
    }
    i = end
  }
  if (frame === undefined || frame.width === 0 || frame.height === 0) return undefined
  return { ...frame, plain: frame.plain && !adobeTransform, needsSharp }
}

/**
 * The fast path: a plain baseline JPEG within the size limits decoded by libjpeg-turbo, synchronously on the
 * calling thread. A sharp call costs ≈ 4 ms of CPU for a 640×480 frame where libjpeg-turbo itself needs ≈ 0.8:
 * libvips' per-image pipeline (its objects, buffers and a hand-off to a helper thread) is most of it.
 * Undefined for anything it leaves to sharp: other formats, progressive, gray or CMYK JPEGs, EXIF rotation,
 * colour profiles other than sRGB, images over `maxSide` (sharp shrinks them while decoding) or over `maxPixels` (sharp refuses them),
 * and data libjpeg-turbo reports as corrupt (sharp then decides, with its own error).
 */
export const decodeJpegTurbo = (bytes: Uint8Array, options: DecodeOptions): RgbImage | undefined => {
  const layout = jpegLayout(bytes)
  if (layout === undefined || !layout.plain || layout.needsSharp) return undefined
  const { width, height } = layout
  if (width * height > options.maxPixels || Math.max(width, height) > options.maxSide) return undefined
  const out = decodeJpegRgb(bytes, options.maxPixels, options.allocate)
  if (out === undefined || out.width !== width || out.height !== height) return undefined
  return { data: out.data, width, height, sourceWidth: width, sourceHeight: height }
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
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
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
        blend(view, i00, i01, w00, w10, w01, w11, add, dst, o)
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

/**
 * One bilinear sample from the pixels at byte `i00` and `i00 + 3` and the two below them (`i01`), weighted `a`, `b`,
 * `c`, `d` in that order, written as RGB at `dst[o…]`. A pixel and its right-hand neighbour are six bytes, read as
 * one 32-bit and one 16-bit load: fewer loads than six byte reads, the same values.
 */
const blend = (
  view: DataView,
  i00: number,
  i01: number,
  a: number,
  b: number,
  c: number,
  d: number,
  add: number,
  dst: Float32Array,
  o: number
): void => {
  const top = view.getUint32(i00, true)
  const topRight = view.getUint16(i00 + 4, true)
  const bottom = view.getUint32(i01, true)
  const bottomRight = view.getUint16(i01 + 4, true)
  dst[o] = (top & 255) * a + (top >>> 24) * b + (bottom & 255) * c + (bottom >>> 24) * d + add
  dst[o + 1] =
    ((top >>> 8) & 255) * a + (topRight & 255) * b + ((bottom >>> 8) & 255) * c + (bottomRight & 255) * d + add
  dst[o + 2] =
    ((top >>> 16) & 255) * a + (topRight >>> 8) * b + ((bottom >>> 16) & 255) * c + (bottomRight >>> 8) * d + add
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
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
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
      blend(view, i00, i01, a, b, c, d, add, dst, o)
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
  /**
   * A view holding `items` items. Its content is whatever was written before, by this batch or an earlier one: a
   * buffer that has to grow keeps it, so a batch can be filled item by item.
   */
  take(items: number): Float32Array {
    const need = items * this.itemSize
    if (this.buffer.length < need) {
      const grown = new Float32Array(Math.max(need, this.buffer.length * 2))
      grown.set(this.buffer)
      this.buffer = grown
    }
    return this.buffer.subarray(0, need)
  }
}
