import { encodePngRgb } from "./Png.ts"

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
  // Columns repeat on every row: their neighbours and weights are worked out once.
  const x0s = new Int32Array(size)
  const x1s = new Int32Array(size)
  const fxs = new Float64Array(size)
  for (let x = 0; x < size; x++) {
    const sx = Math.min(Math.max(((x + 0.5) * camWidth) / size - 0.5, 0), camWidth - 1)
    x0s[x] = Math.floor(sx)
    x1s[x] = Math.min(x0s[x]! + 1, camWidth - 1)
    fxs[x] = sx - x0s[x]!
  }
  for (let y = 0; y < size; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * camHeight) / size - 0.5, 0), camHeight - 1)
    const y0 = Math.floor(sy)
    const top = y0 * camWidth
    const bottom = Math.min(y0 + 1, camHeight - 1) * camWidth
    const fy = sy - y0
    for (let x = 0; x < size; x++) {
      const x0 = x0s[x]!
      const x1 = x1s[x]!
      const fx = fxs[x]!
      const t = map[top + x0]! * (1 - fx) + map[top + x1]! * fx
      const b = map[bottom + x0]! * (1 - fx) + map[bottom + x1]! * fx
      out[y * size + x] = t * (1 - fy) + b * fy
    }
  }
  return out
}

/** One channel of the colour ramp, 0–255: full within 0.125 of t = k / 4, none from 0.375 (k 3 red, 2 green, 1 blue). */
const ramp = (t: number, k: number): number => {
  const v = 1.5 - Math.abs(4 * t - k)
  return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255)
}

/** Perceptual blue → cyan → green → yellow → red ramp for t in [0,1] ("jet"-like, without its dark ends). */
export const colormap = (t: number): [number, number, number] => {
  const c = Math.min(Math.max(t, 0), 1)
  return [ramp(c, 3), ramp(c, 2), ramp(c, 1)]
}

/**
 * Draws `map` (min–max normalised) over an RGB crop in [0,1] (`size`², NHWC). Weak activations let the face
 * show through; strong ones are mostly colour. No allocation per pixel: a keyframe's heat-map has 37k of them.
 */
export const overlayHeatmap = (crop: Float32Array, size: number, map: Float32Array): Uint8Array => {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const v of map) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const range = max - min > 1e-12 ? max - min : 1
  const out = new Uint8Array(size * size * 3)
  for (let i = 0; i < size * size; i++) {
    const t = Math.min(Math.max((map[i]! - min) / range, 0), 1)
    const alpha = 0.25 + 0.45 * t
    const keep = 255 * (1 - alpha)
    const o = i * 3
    // Every term is ≥ 0 and the sum ≤ 255.5, so storing it + 0.5 (truncated) rounds as Math.round does.
    out[o] = crop[o]! * keep + ramp(t, 3) * alpha + 0.5
    out[o + 1] = crop[o + 1]! * keep + ramp(t, 2) * alpha + 0.5
    out[o + 2] = crop[o + 2]! * keep + ramp(t, 1) * alpha + 0.5
  }
  return out
}

/** The heat-map of one class for one face as a PNG. */
export const heatmapPng = (
  crop: Float32Array,
  size: number,
  cam: ArrayLike<number>,
  camHeight: number,
  camWidth: number
): Uint8Array => encodePngRgb(overlayHeatmap(crop, size, upsampleMap(cam, camHeight, camWidth, size)), size, size)
