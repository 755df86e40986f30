import sharp from "sharp"

/**
 * Class-activation heat-maps. The emotion net ends in conv → global mean → softmax, so the last convolution's
 * map for a class shows where the evidence for that class sits; upsampled over the face crop it explains a
 * prediction without gradients.
 */

/** Bilinearly upsamples a `camHeight`×`camWidth` map to `size`², pixel centres aligned. */
export const upsampleMap = (
  map: ArrayLike<number>,
  camHeight: number,
  camWidth: number,
  size: number
): Float32Array => {
  const out = new Float32Array(size * size)
  for (let y = 0; y < size; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * camHeight) / size - 0.5, 0), camHeight - 1)
    const y0 = Math.floor(sy)
    const y1 = Math.min(y0 + 1, camHeight - 1)
    const fy = sy - y0
    for (let x = 0; x < size; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * camWidth) / size - 0.5, 0), camWidth - 1)
      const x0 = Math.floor(sx)
      const x1 = Math.min(x0 + 1, camWidth - 1)
      const fx = sx - x0
      const top = map[y0 * camWidth + x0]! * (1 - fx) + map[y0 * camWidth + x1]! * fx
      const bottom = map[y1 * camWidth + x0]! * (1 - fx) + map[y1 * camWidth + x1]! * fx
      out[y * size + x] = top * (1 - fy) + bottom * fy
    }
  }
  return out
}

/** Perceptual blue → cyan → green → yellow → red ramp for t in [0,1] ("jet"-like, without its dark ends). */
export const colormap = (t: number): [number, number, number] => {
  const c = Math.min(Math.max(t, 0), 1)
  const r = Math.min(Math.max(1.5 - Math.abs(4 * c - 3), 0), 1)
  const g = Math.min(Math.max(1.5 - Math.abs(4 * c - 2), 0), 1)
  const b = Math.min(Math.max(1.5 - Math.abs(4 * c - 1), 0), 1)
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)]
}

/**
 * Draws `map` (min–max normalised) over an RGB crop in [0,1] (`size`², NHWC). Weak activations let the face
 * show through; strong ones are mostly colour.
 */
export const overlayHeatmap = (crop: ArrayLike<number>, size: number, map: Float32Array): Uint8Array => {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const v of map) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const range = max - min > 1e-12 ? max - min : 1
  const out = new Uint8Array(size * size * 3)
  for (let i = 0; i < size * size; i++) {
    const t = (map[i]! - min) / range
    const alpha = 0.25 + 0.45 * t
    const [r, g, b] = colormap(t)
    out[i * 3] = Math.round(crop[i * 3]! * 255 * (1 - alpha) + r * alpha)
    out[i * 3 + 1] = Math.round(crop[i * 3 + 1]! * 255 * (1 - alpha) + g * alpha)
    out[i * 3 + 2] = Math.round(crop[i * 3 + 2]! * 255 * (1 - alpha) + b * alpha)
  }
  return out
}

/** The heat-map of one class for one face as a PNG. */
export const heatmapPng = async (
  crop: ArrayLike<number>,
  size: number,
  cam: ArrayLike<number>,
  camHeight: number,
  camWidth: number
): Promise<Uint8Array> => {
  const pixels = overlayHeatmap(crop, size, upsampleMap(cam, camHeight, camWidth, size))
  const png = await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer()
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength)
}
