/**
 * A PNG writer for 8-bit RGB pixels, synchronous on the calling thread: what the heat-maps need and no more.
 * Each row is stored with PNG's "Sub" filter (the difference to the pixel on its left) and deflated with Huffman
 * coding only. On heat-maps (a face photo under a colour wash) that is half the size of sharp's default PNG at
 * about 0.4× its CPU, with no hand-off to libvips' threads (bench/RESULTS.md, "Way tried: second analyses,
 * heat-maps and crops").
 */
import * as zlib from "node:zlib"

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
/** PNG filter type 1: each byte minus the byte one pixel to its left. */
const SUB = 1

let table: Int32Array | undefined
const crcTable = (): Int32Array => {
  if (table !== undefined) return table
  table = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  return table
}

/** CRC-32 as PNG and zlib define it, in JavaScript: for Node before 20.15, which lacks `zlib.crc32`. */
export const crc32Portable = (bytes: Uint8Array): number => {
  const t = crcTable()
  let c = -1
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** CRC-32 as PNG and zlib define it; zlib's own where Node has it. */
export const crc32: (bytes: Uint8Array) => number =
  (zlib as { crc32?: (data: Uint8Array) => number }).crc32 ?? crc32Portable

/** Writes one chunk (length, type, data, CRC of type and data) at `at`; returns where the next one goes. */
const putChunk = (out: Uint8Array, at: number, type: string, data: Uint8Array): number => {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(at, data.length)
  for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i)
  out.set(data, at + 8)
  view.setUint32(at + 8 + data.length, crc32(out.subarray(at + 4, at + 8 + data.length)))
  return at + 12 + data.length
}

/** Encodes `width`×`height` RGB pixels (row after row, 3 bytes each) as a PNG file. */
export const encodePngRgb = (pixels: Uint8Array, width: number, height: number): Uint8Array => {
  const stride = width * 3
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`a PNG needs a positive whole size, got ${width}×${height}`)
  }
  if (pixels.length !== stride * height) {
    throw new RangeError(`${width}×${height} RGB is ${stride * height} bytes, got ${pixels.length}`)
  }
  // Stored into a Uint8Array, the differences wrap modulo 256 as the filter defines them.
  const filtered = new Uint8Array((stride + 1) * height)
  for (let y = 0; y < height; y++) {
    const src = y * stride
    const dst = y * (stride + 1)
    filtered[dst] = SUB
    filtered[dst + 1] = pixels[src]!
    filtered[dst + 2] = pixels[src + 1]!
    filtered[dst + 3] = pixels[src + 2]!
    for (let i = 3; i < stride; i++) filtered[dst + 1 + i] = pixels[src + i]! - pixels[src + i - 3]!
  }
  const idat = zlib.deflateSync(filtered, { strategy: zlib.constants.Z_HUFFMAN_ONLY })
  const header = new Uint8Array(13)
  const view = new DataView(header.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  header[8] = 8 // bits per channel
  header[9] = 2 // colour type: RGB
  // Compression, filter method and interlace stay 0 (deflate, adaptive filters, none).
  const out = new Uint8Array(SIGNATURE.length + 3 * 12 + header.length + idat.length)
  out.set(SIGNATURE, 0)
  let at = putChunk(out, SIGNATURE.length, "IHDR", header)
  at = putChunk(out, at, "IDAT", idat)
  putChunk(out, at, "IEND", new Uint8Array(0))
  return out
}
